/// How tensor names become paths below a model's root.
public enum Layout: String, Sendable, CaseIterable {
    /// Names split at `.` into directories: `a.b.weight` is `a/b/weight`.
    case tree
    /// One file per tensor at the root, named by the whole name.
    case flat
}
