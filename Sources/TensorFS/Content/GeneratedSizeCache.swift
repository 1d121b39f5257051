import Synchronization

/// Remembers the sizes of generated files (sidecars, `.npy` files) of tensors whose shapes are so
/// long that making the file to measure it is costly: a hostile header may give one tensor tens of
/// millions of dimensions, and every `stat` would otherwise rebuild a file of hundreds of MB.
/// Ordinary tensors are measured afresh each time, which costs microseconds and no memory.
final class GeneratedSizeCache: Sendable {
    /// Tensors with more dimensions than this have their generated files' sizes kept.
    static let rankWorthKeeping = 256

    private let sizes = Mutex<[InodeNumber: UInt64]>([:])

    /// The size of the file `inode`, of a tensor with `rank` dimensions, computed by `measure`
    /// (the first time only, when the rank is worth keeping).
    func size(of inode: InodeNumber, rank: Int, _ measure: () -> UInt64) -> UInt64 {
        guard rank > GeneratedSizeCache.rankWorthKeeping else { return measure() }
        if let known = sizes.withLock({ $0[inode] }) { return known }
        let measured = measure()
        sizes.withLock { $0[inode] = measured }
        return measured
    }
}
