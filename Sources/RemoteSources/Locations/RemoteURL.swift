import SafetensorsFormat

/// An `http://` or `https://` URL taken apart, enough to resolve references against it, to tell
/// its origin (where credentials may go) and to show it without secrets.
struct RemoteURL: Hashable, Sendable {
    /// `http` or `https`, lowercased.
    var scheme: String
    /// `user:password` before the host, if any: a secret, never shown.
    var userInfo: String?
    /// The host, lowercased; IPv6 addresses keep their brackets.
    var host: String
    /// The port, when the URL names one.
    var port: Int?
    /// The path, percent-encoded as written, always starting with `/`.
    var path: String
    /// What follows `?`, if anything: may hold a signature, never shown.
    var query: String?

    /// Why text is not a URL tensorfs can fetch.
    struct ParseError: Error, Sendable, CustomStringConvertible {
        /// One phrase for the user.
        var description: String
    }

    /// Parses an absolute `http` or `https` URL.
    init(parsing text: String) throws(ParseError) {
        guard let schemeEnd = text.firstRange(of: "://") else { throw ParseError(description: "not a URL") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw ParseError(description: "unsupported URL scheme \(scheme); use http, https or s3")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        var userInfo: String?
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        var host = authority
        var port: Int?
        let portColon = authority.hasPrefix("[")
            ? authority.firstIndex(of: "]").flatMap { authority[$0...].firstIndex(of: ":") }
            : authority.lastIndex(of: ":")
        if let colon = portColon {
            host = authority[..<colon]
            let digits = authority[authority.index(after: colon)...]
            guard let number = Int(digits), (1...65535).contains(number), digits.allSatisfy(\.isASCII) else {
                throw ParseError(description: "bad port \(quoted(String(digits)))")
            }
            port = number
        }
        guard !host.isEmpty else { throw ParseError(description: "the URL names no host") }
        guard !host.contains(where: { $0 == " " || $0 == "%" || $0 == "[" || $0 == "]" }) || (host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2) else {
            throw ParseError(description: "bad host \(quoted(String(host)))")
        }
        var path = rest
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark]
            query = String(rest[rest.index(after: mark)...])
        }
        self.scheme = scheme
        self.userInfo = userInfo
        self.host = host.lowercased()
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
        self.query = query
    }

    /// The whole URL, as requests use it.
    var text: String {
        "\(scheme)://" + (userInfo.map { $0 + "@" } ?? "") + authority + path + (query.map { "?" + $0 } ?? "")
    }

    /// The URL as users see it: no credentials and no query, which may carry a signature.
    var display: String { "\(scheme)://\(authority)\(path)" }

    /// Scheme, host and port: credentials given for one origin never go to another.
    var origin: String { "\(scheme)://\(host):\(port ?? (scheme == "https" ? 443 : 80))" }

    private var authority: String { host + (port.map { ":\($0)" } ?? "") }

    /// The URL `reference` names when found in a document at this URL (RFC 3986, section 5.2).
    func resolving(_ reference: String) throws(ParseError) -> RemoteURL {
        var reference = Substring(reference)
        if let hash = reference.firstIndex(of: "#") { reference = reference[..<hash] }
        if let colon = reference.firstIndex(of: ":"),
           !reference[..<colon].contains(where: { $0 == "/" || $0 == "?" }) {
            return try RemoteURL(parsing: String(reference))
        }
        if reference.hasPrefix("//") {
            return try RemoteURL(parsing: scheme + ":" + reference)
        }
        var resolved = self
        resolved.query = nil
        var referencePath = reference
        if let mark = reference.firstIndex(of: "?") {
            referencePath = reference[..<mark]
            resolved.query = String(reference[reference.index(after: mark)...])
        } else if reference.isEmpty {
            resolved.query = query
        }
        if referencePath.hasPrefix("/") {
            resolved.path = Self.removingDotSegments(String(referencePath))
        } else if !referencePath.isEmpty {
            let directory = path[...path.lastIndex(of: "/")!]
            resolved.path = Self.removingDotSegments(String(directory) + referencePath)
        }
        return resolved
    }

    /// This URL with `.` and `..` segments of its path resolved.
    var normalized: RemoteURL {
        var copy = self
        copy.path = Self.removingDotSegments(path)
        return copy
    }

    /// `path` with `.` and `..` segments applied, as RFC 3986 section 5.2.4 does it.
    static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (position, segment) in segments.enumerated() {
            let isLast = position == segments.count - 1
            switch segment {
            case ".":
                if isLast { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            default:
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}

/// `text` in quotes for messages, escaped so that a message stays on one line.
func quoted(_ text: String) -> String {
    "'" + escapedForOneLine(text) + "'"
}
