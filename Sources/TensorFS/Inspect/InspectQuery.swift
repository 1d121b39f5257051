#if canImport(Glibc)
import Glibc
#endif

/// Which tensors `tensorfs inspect` lists, and in what order.
public struct InspectQuery: Sendable {
    /// Orders for the listing.
    public enum Order: String, Sendable, CaseIterable {
        /// By name, byte order.
        case name
        /// Largest first, then by name.
        case size
        /// As stored: file by file, in data order.
        case file
    }

    /// A shell-style pattern (`*`, `?`, `[...]`) the whole name must match; nil lists all.
    public var pattern: String?
    /// The order of the listing.
    public var order: Order
    /// At most this many tensors are listed (summaries still count them all).
    public var limit: Int?

    /// A query; by default every tensor, by name.
    public init(pattern: String? = nil, order: Order = .name, limit: Int? = nil) {
        self.pattern = pattern
        self.order = order
        self.limit = limit
    }

    /// The tensors of `model` that match, in order (before the limit).
    func matching(_ model: LogicalModel) -> [ModelTensor] {
        var tensors = model.tensors
        if let pattern {
            tensors = tensors.filter { fnmatch(pattern, $0.name, 0) == 0 }
        }
        switch order {
        case .file:
            break
        case .name:
            tensors.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        case .size:
            tensors.sort { lhs, rhs in
                lhs.info.byteCount != rhs.info.byteCount
                    ? lhs.info.byteCount > rhs.info.byteCount
                    : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
            }
        }
        return tensors
    }
}
