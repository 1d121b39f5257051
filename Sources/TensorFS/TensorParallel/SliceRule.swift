/// What a rule does with the tensors it matches.
public enum SliceAction: Hashable, Sendable, CustomStringConvertible {
    /// Each rank gets a part of the tensor cut along this dimension; a negative dimension counts
    /// from the last, as in NumPy (-1 is the last).
    case split(dimension: Int)
    /// Every rank gets the whole tensor.
    case replicate

    public var description: String {
        switch self {
        case .split(let dimension): String(dimension)
        case .replicate: "replicate"
        }
    }
}

/// One slicing rule: tensors whose names match `pattern` are cut as `action` says.
public struct SliceRule: Hashable, Sendable, CustomStringConvertible {
    /// Which tensor names the rule applies to.
    public var pattern: GlobPattern
    /// What happens to them.
    public var action: SliceAction
    /// Where the rule was written, for messages: `rules.txt:3`, `--tp-rule`, `the default rules`.
    public var origin: String

    /// Creates a rule.
    public init(pattern: GlobPattern, action: SliceAction, origin: String) {
        self.pattern = pattern
        self.action = action
        self.origin = origin
    }

    /// Parses one rule written `PATTERN ACTION`: a glob pattern, blanks, then a dimension (an
    /// integer, negative counting from the last) or `replicate`. `origin` names it in errors.
    public init(parsing line: some StringProtocol, origin: String) throws(TensorParallelError) {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2 else {
            throw .rule(origin: origin, reason: "expected `PATTERN DIMENSION` or `PATTERN replicate`, found `\(line)`")
        }
        guard let pattern = GlobPattern(String(fields[0])) else {
            throw .rule(origin: origin, reason: "the pattern `\(fields[0])` ends in a lone `\\`")
        }
        let word = fields[1]
        if word == "replicate" {
            action = .replicate
        } else if let dimension = Int(word), word.first != "+" {
            action = .split(dimension: dimension)
        } else {
            throw .rule(origin: origin, reason: "`\(word)` is neither a dimension (an integer such as 0, 1 or -1) nor `replicate`")
        }
        self.pattern = pattern
        self.origin = origin
    }

    public var description: String { "`\(pattern) \(action)` (\(origin))" }
}
