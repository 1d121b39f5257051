import Synchronization

/// Remembers the sizes of generated files (sidecars, `.npy` files) of tensors whose shapes are so
/// long that making the file to measure it is costly: a hostile header may give one tensor tens of
/// millions of dimensions, and every `stat` would otherwise rebuild a file of hundreds of MB.
/// Ordinary tensors are measured afresh each time, which costs microseconds and no memory.
final class GeneratedSizeCache: Sendable {
    /// Tensors with more dimensions than this have their generated files' sizes kept.
    static let rankWorthKeeping = 256

    private let sizes = Mutex<[UInt64: UInt64]>([:])

    /// The size of the generated file identified by `kind` and `payload`, computed by `measure`
    /// the first time when the tensor's rank is worth keeping.
    func size(kind: NodeKind, payload: Int, rank: Int, _ measure: () -> UInt64) -> UInt64 {
        guard rank > GeneratedSizeCache.rankWorthKeeping else { return measure() }
        let key = UInt64(kind.rawValue) << 56 | UInt64(payload)
        if let known = sizes.withLock({ $0[key] }) { return known }
        let measured = measure()
        sizes.withLock { $0[key] = measured }
        return measured
    }
}
