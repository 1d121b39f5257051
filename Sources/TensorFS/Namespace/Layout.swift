/// How tensor names become paths below a model's root.
public enum Layout: String, Sendable, CaseIterable {
    /// Names split at `.` into directories: `a.b.weight` is `a/b/weight`.
    case tree
    /// One file per tensor at the root, named by the whole name.
    case flat
}

/// The files shown beside each tensor.
public struct ViewSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `T`: the tensor's raw bytes.
    public static let raw = ViewSet(rawValue: 1 << 0)
    /// `T.json`: the sidecar describing the tensor.
    public static let json = ViewSet(rawValue: 1 << 1)
    /// `T.npy`: the tensor as a NumPy file.
    public static let npy = ViewSet(rawValue: 1 << 2)
    /// Every view, the default.
    public static let all: ViewSet = [.raw, .json, .npy]
}
