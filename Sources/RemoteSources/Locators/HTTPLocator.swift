import ByteSources


/// `http://` and `https://` sources: a `.safetensors` file or a shard index, whose shards are
/// found relative to the index's URL.
struct HTTPLocator: SourceLocator {
    let context: RemoteContext

    func handles(_ location: String) -> Bool {
        let lowered = location.prefix(8).lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
    }

    func kind(of location: String) throws(ModelError) -> LocationKind {
        _ = try url(location)
        return .file
    }

    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource {
        let endpoint = HTTPObjectEndpoint(url: try url(location), headers: context.settings.headers)
        let source = try ModelError.reading { () throws(ByteSourceError) in try RemoteObjectSource.open(endpoint, context: context) }
        context.report(.fetchedHeader(object: displayName))
        return source
    }

    func canonical(_ location: String) -> String? {
        (try? RemoteURL(parsing: location))?.normalized.display
    }

    func sibling(of base: String, relativePath: String) -> String {
        guard let url = try? RemoteURL(parsing: base),
              let resolved = try? url.resolving(PercentEncoding.encodePath(relativePath)) else {
            return base + "/" + relativePath
        }
        return resolved.text
    }

    func displayName(of location: String) -> String {
        RemoteURL.displayForm(of: location)
    }

    var concurrentOpens: Int { 64 }

    /// An HTTP source is always one file (`kind(of:)`), so there is nothing below it.
    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] { [] }

    private func url(_ location: String) throws(ModelError) -> RemoteURL {
        do {
            return try RemoteURL(parsing: location)
        } catch {
            throw .unusableSource(displayName(of: location), reason: "bad URL: \(error)")
        }
    }
}

extension RemoteURL {
    /// How to show `text`, a URL or not: without credentials or query, even when it does not parse.
    static func displayForm(of text: String) -> String {
        if let url = try? RemoteURL(parsing: text) { return url.display }
        var shown = Substring(text)
        if let mark = shown.firstIndex(where: { $0 == "?" || $0 == "#" }) { shown = shown[..<mark] }
        if let schemeEnd = shown.firstRange(of: "://") {
            let afterScheme = shown[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            if let at = afterScheme[..<authorityEnd].lastIndex(of: "@") {
                return String(shown[..<schemeEnd.upperBound]) + String(afterScheme[afterScheme.index(after: at)...])
            }
        }
        return String(shown)
    }
}
