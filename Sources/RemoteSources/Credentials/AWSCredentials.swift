/// The keys that sign S3 requests. They print as a placeholder, never as themselves.
public struct AWSCredentials: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// AWS_ACCESS_KEY_ID.
    var accessKeyID: String
    /// AWS_SECRET_ACCESS_KEY.
    var secretAccessKey: String
    /// AWS_SESSION_TOKEN, for temporary credentials.
    var sessionToken: String?

    public var description: String { "AWS credentials (redacted)" }
    public var debugDescription: String { description }
}

/// Why the AWS settings could not be worked out.
public struct AWSSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line for the user.
    public var description: String
}

/// What the AWS tools would use for S3: credentials, region and endpoint, from the `AWS_*`
/// environment variables and the shared `~/.aws/credentials` and `~/.aws/config` files.
struct AWSSettings: Hashable, Sendable {
    /// The keys to sign with, or nil to send requests unsigned (`--no-sign-request`).
    var credentials: AWSCredentials?
    /// Where requests go and the region they are signed for.
    var addressing: S3Addressing

    /// Resolves the settings as the AWS CLI does: credentials from the environment first, then
    /// from the profile (AWS_PROFILE, else `default`); the region from AWS_REGION,
    /// AWS_DEFAULT_REGION or the profile; a custom endpoint from AWS_ENDPOINT_URL_S3,
    /// AWS_ENDPOINT_URL or the profile's `endpoint_url`.
    static func resolve(
        environment: [String: String],
        readFile: (String) -> String?,
        signRequests: Bool
    ) throws(AWSSettingsError) -> AWSSettings {
        let home = environment["HOME"] ?? ""
        let credentialsPath = nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? home + "/.aws/credentials"
        let configPath = nonEmpty(environment["AWS_CONFIG_FILE"]) ?? home + "/.aws/config"
        let profileName = nonEmpty(environment["AWS_PROFILE"]) ?? nonEmpty(environment["AWS_DEFAULT_PROFILE"])
        let credentialsFile = readFile(credentialsPath).map(ProfileFile.init(text:))
        let configFile = readFile(configPath).map(ProfileFile.init(text:))
        let name = profileName ?? "default"
        let fromCredentials = credentialsFile?.section(named: name)
        let fromConfig = configFile?.section(named: name == "default" ? "default" : "profile " + name)
            ?? configFile?.section(named: name)
        if let profileName, fromCredentials == nil, fromConfig == nil {
            throw AWSSettingsError(description: "the AWS profile \(quoted(profileName)) is in neither \(credentialsPath) nor \(configPath)")
        }
        let profile = (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credential in credential }

        let region = nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? nonEmpty(profile["region"]) ?? "us-east-1"
        var endpoint: RemoteURL?
        for (origin, value) in [("AWS_ENDPOINT_URL_S3", environment["AWS_ENDPOINT_URL_S3"]),
                                ("AWS_ENDPOINT_URL", environment["AWS_ENDPOINT_URL"]),
                                ("endpoint_url in the AWS profile", profile["endpoint_url"])] {
            guard let text = nonEmpty(value) else { continue }
            do {
                endpoint = try RemoteURL(parsing: text)
            } catch {
                throw AWSSettingsError(description: "\(origin) is not a usable endpoint: \(error)")
            }
            break
        }
        let addressing = S3Addressing(endpoint: endpoint, region: region)
        guard signRequests else { return AWSSettings(credentials: nil, addressing: addressing) }

        let keyID = nonEmpty(environment["AWS_ACCESS_KEY_ID"])
        let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        if let keyID, let secret {
            let credentials = AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
            return AWSSettings(credentials: credentials, addressing: addressing)
        }
        if keyID != nil || secret != nil {
            throw AWSSettingsError(description: keyID == nil ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        if let profileKeyID = nonEmpty(profile["aws_access_key_id"]), let profileSecret = nonEmpty(profile["aws_secret_access_key"]) {
            let credentials = AWSCredentials(accessKeyID: profileKeyID, secretAccessKey: profileSecret, sessionToken: nonEmpty(profile["aws_session_token"]))
            return AWSSettings(credentials: credentials, addressing: addressing)
        }
        throw AWSSettingsError(description: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with \(credentialsPath), or pass --no-sign-request for a public bucket")
    }
}

/// An AWS shared credentials or config file: `[section]` headers, then `key = value` lines.
struct ProfileFile {
    private var sections: [String: [String: String]] = [:]

    /// Parses `text`; lines it does not understand (comments, nested settings) are skipped.
    init(text: String) {
        var current: String?
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let isIndented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingWhitespace()
                current = String(name)
                sections[String(name), default: [:]] = sections[String(name)] ?? [:]
                continue
            }
            guard let section = current, !isIndented, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingWhitespace().lowercased()
            let value = line[line.index(after: equals)...].trimmingWhitespace()
            sections[section]?[key] = String(value)
        }
    }

    /// The settings of section `name`, or nil when there is no such section.
    func section(named name: String) -> [String: String]? {
        sections[name]
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return Substring(self[first...last])
    }
}
