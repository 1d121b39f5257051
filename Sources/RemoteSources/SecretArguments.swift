/// Keeps secrets out of the mount daemon's command line, which any user can read with `ps`:
/// sources whose URLs carry credentials or a query travel in an environment variable instead,
/// and the command line shows them without those parts.
public enum SecretArguments {
    /// The environment variable that carries the sources to the daemon.
    public static let sourcesVariable = "TENSORFS_SOURCES"

    /// Whether `source` is a URL that carries credentials or a query.
    public static func hasSecrets(_ source: String) -> Bool {
        guard source.contains("://") else { return false }
        return RemoteURL.displayForm(of: source) != source
    }

    /// `source` as it may be shown: URLs without credentials or query.
    public static func shown(_ source: String) -> String {
        source.contains("://") ? RemoteURL.displayForm(of: source) : source
    }

    /// `sources` as one environment value: one per line, `%` and newlines escaped.
    public static func environmentValue(_ sources: [String]) -> String {
        sources.map { source in
            source.replacing("%", with: "%25").replacing("\n", with: "%0A")
        }.joined(separator: "\n")
    }

    /// Sources back from `environmentValue(_:)`.
    public static func sources(fromEnvironmentValue text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line).replacing("%0A", with: "\n").replacing("%25", with: "%")
        }
    }
}

/// Sizes as users type them: `512M`, `10G`, `4096` (binary multiples; a trailing `B` or `iB`
/// is allowed).
public enum ByteSizeText {
    /// The number of bytes `text` names, or nil.
    public static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text.uppercased())
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        let shifts: [Character: UInt64] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var shift: UInt64 = 0
        if let last = digits.last, let found = shifts[last] {
            shift = found
            digits = digits.dropLast()
        }
        guard let value = UInt64(digits), value <= UInt64.max >> shift else { return nil }
        return value << shift
    }
}
