/// How sources are shown where anyone may read them (`ps`, `/proc/mounts`): URLs without the
/// credentials or query they may carry.
public enum SecretArguments {
    /// `source` as it may be shown: URLs without credentials or query.
    public static func shown(_ source: String) -> String {
        source.contains("://") ? RemoteURL.displayForm(of: source) : source
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
