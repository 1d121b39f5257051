import ByteSources

/// Why the Hugging Face settings could not be worked out.
public struct HubSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line for the user; it never holds a token.
    public var description: String
}

/// What `huggingface_hub` would use, from the same variables: the endpoint, the token, the
/// local cache and whether to stay offline.
struct HubSettings: Sendable {
    /// Where the Hub is (`HF_ENDPOINT`), without a trailing `/`.
    var endpoint: RemoteURL
    /// The token and where it came from, or nil.
    var token: HubToken?
    /// The folder of the local cache's repositories (`models--ORG--NAME`).
    var cacheDirectory: String
    /// Whether only the local cache may be used (`HF_HUB_OFFLINE`).
    var offline: Bool

    /// The Hub's own address.
    static let defaultEndpoint = "https://huggingface.co"

    /// Resolves the settings as `huggingface_hub` does. The endpoint: `HF_ENDPOINT`, else
    /// huggingface.co. The token: `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), else the
    /// file at `HF_TOKEN_PATH`, else `$HF_HOME/token`. The cache: `HF_HUB_CACHE` (or
    /// `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`. `HF_HOME` defaults to
    /// `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`. Offline: `HF_HUB_OFFLINE`
    /// (or `TRANSFORMERS_OFFLINE`) set to 1, ON, YES or TRUE. `readFile` reads the token file.
    static func resolve(environment: [String: String], readFile: (String) throws(SmallFile.Failure) -> [UInt8]) throws(HubSettingsError) -> HubSettings {
        let home = environment["HOME"] ?? ""
        func expanded(_ path: String) -> String {
            path == "~" ? home : path.hasPrefix("~/") ? home + path.dropFirst() : path
        }
        let hfHome = expanded(nonEmpty(environment["HF_HOME"])
            ?? (nonEmpty(environment["XDG_CACHE_HOME"]) ?? home + "/.cache") + "/huggingface")
        let endpointText = nonEmpty(environment["HF_ENDPOINT"]) ?? defaultEndpoint
        var endpoint: RemoteURL
        do {
            endpoint = try RemoteURL(parsing: endpointText)
        } catch {
            throw HubSettingsError(description: "HF_ENDPOINT is not a usable URL: \(error)")
        }
        while endpoint.path.hasSuffix("/") { endpoint.path.removeLast() }
        var token: HubToken?
        if let variable = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"].first(where: { HubToken.cleaned(environment[$0]) != nil }) {
            token = try HubToken(value: HubToken.cleaned(environment[variable])!, origin: variable)
        } else {
            let path = expanded(nonEmpty(environment["HF_TOKEN_PATH"]) ?? hfHome + "/token")
            var contents: [UInt8]?
            do throws(SmallFile.Failure) {
                contents = try readFile(path)
            } catch {
                if case .system(.noSuchFileOrDirectory) = error {} else {
                    throw HubSettingsError(description: "\(path): cannot read the Hugging Face token file: \(error)")
                }
            }
            if let value = HubToken.cleaned(contents.map { String(decoding: $0, as: UTF8.self) }) {
                token = try HubToken(value: value, origin: path)
            }
        }
        let cache = expanded(nonEmpty(environment["HF_HUB_CACHE"]) ?? nonEmpty(environment["HUGGINGFACE_HUB_CACHE"]) ?? hfHome + "/hub")
        let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"].contains { name in
            ["1", "ON", "YES", "TRUE"].contains(environment[name]?.uppercased() ?? "")
        }
        return HubSettings(endpoint: endpoint, token: token, cacheDirectory: cache, offline: offline)
    }

    /// The URL of `path` below the endpoint (`path` starts with `/` and is encoded).
    func url(_ path: String) -> RemoteURL {
        var url = endpoint
        url.path += path
        return url
    }

    /// The headers of requests to the endpoint: the token, if there is one.
    var headers: [HTTPHeader] { token.map { [$0.header] } ?? [] }
}

/// A Hugging Face token, sent as `Authorization: Bearer ...` to the Hub's own origin only. It
/// prints as where it came from, never as itself.
struct HubToken: Sendable, CustomStringConvertible {
    /// The header that carries it.
    let header: HTTPHeader
    /// Where it came from: a variable's name or a file's path.
    let origin: String

    /// The token `value` from `origin`; refused when it cannot go in a header.
    init(value: String, origin: String) throws(HubSettingsError) {
        do {
            header = try HTTPHeader(parsing: "Authorization: Bearer " + value)
        } catch {
            throw HubSettingsError(description: "the Hugging Face token from \(origin) holds a character a header cannot carry")
        }
        self.origin = origin
    }

    /// `text` without line breaks and surrounding blanks, as `huggingface_hub` cleans tokens;
    /// nil when nothing is left.
    static func cleaned(_ text: String?) -> String? {
        guard let text else { return nil }
        let kept = text.filter { $0 != "\r" && $0 != "\n" && $0 != "\r\n" }.trimmingWhitespace()
        return kept.isEmpty ? nil : String(kept)
    }

    var description: String { "the token from \(origin)" }
}
