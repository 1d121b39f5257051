import SystemPackage

/// A header sent with every request to an HTTP source's own origin, given as
/// `--header 'Name: value'` (a bearer token, say). It prints with its value redacted.
public struct HTTPHeader: Hashable, Sendable, CustomStringConvertible {
    /// The header's name.
    public var name: String
    /// The header's value: often a secret.
    var value: String

    /// Headers tensorfs sets itself; a user's value would break ranges or consistency checks.
    private static let reserved: Set<String> = [
        "host", "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
        "if-range", "content-length", "transfer-encoding", "connection", "expect",
    ]

    /// Parses one `Name: value` line.
    public init(parsing line: String) throws(HTTPHeaderError) {
        guard let colon = line.firstIndex(of: ":") else {
            throw HTTPHeaderError(description: "a header is `Name: value`, but the argument has no colon")
        }
        let name = line[..<colon].trimmingWhitespace()
        let value = line[line.index(after: colon)...].trimmingWhitespace()
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
            throw HTTPHeaderError(description: "\(quoted(String(name))) is not a valid header name")
        }
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            throw HTTPHeaderError(description: "the value of header \(name) holds a control character")
        }
        guard !Self.reserved.contains(name.lowercased()) else {
            throw HTTPHeaderError(description: "header \(name) is set by tensorfs itself")
        }
        self.name = String(name)
        self.value = String(value)
    }

    /// Headers from one `--header` argument: `Name: value`, or `@FILE` for a file of such
    /// lines (as curl reads `-H @FILE`), which keeps the secret out of the command line.
    public static func parseArgument(_ argument: String) throws(HTTPHeaderError) -> [HTTPHeader] {
        guard argument.hasPrefix("@") else { return [try HTTPHeader(parsing: argument)] }
        let path = String(argument.dropFirst())
        let text: String
        do {
            text = try readSmallFile(path)
        } catch {
            throw HTTPHeaderError(description: "cannot read the header file \(path): \(error)")
        }
        var headers: [HTTPHeader] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) where !line.trimmingWhitespace().isEmpty {
            headers.append(try HTTPHeader(parsing: String(line)))
        }
        return headers
    }

    /// The header as it goes on the wire.
    var line: String { "\(name): \(value)" }

    public var description: String { "\(name): (redacted)" }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// Why a `--header` argument is unusable. It never quotes the header's value.
public struct HTTPHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line for the user.
    public var description: String
}

/// The contents of a small text file (its first `limit` bytes), read in sequence so that a pipe
/// (`--header @<(...)` in a shell) works too.
private func readSmallFile(_ path: String, limit: Int = 1 << 20) throws(Errno) -> String {
    do {
        let file = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        return String(decoding: try file.closeAfter { try file.readToEnd(limit: limit) }, as: UTF8.self)
    } catch {
        throw error as? Errno ?? .ioError
    }
}
