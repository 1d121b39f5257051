import Synchronization

/// What the whole objects of a mount share: the memory they may take when there is no disk
/// cache (the mount's `--prefetch-memory`, apart from the parts of ranged objects), and the one
/// warning that some server ignores byte ranges.
final class WholeObjects: Sendable {
    private let memoryLeft: Mutex<UInt64>
    private let warned = Mutex(false)

    /// Shares `memoryBudget` bytes among objects held in memory.
    init(memoryBudget: UInt64) {
        memoryLeft = Mutex(memoryBudget)
    }

    /// Takes `bytes` of the memory budget, or up to all that is left when `bytes` is nil;
    /// returns what was taken, or nil when `bytes` do not fit.
    func takeMemory(_ bytes: UInt64?) -> UInt64? {
        memoryLeft.withLock { left in
            let taken = bytes ?? left
            guard taken <= left else { return nil }
            left -= taken
            return taken
        }
    }

    /// Gives back `bytes` of the memory budget.
    func giveMemory(_ bytes: UInt64) {
        memoryLeft.withLock { $0 += bytes }
    }

    /// The memory not taken.
    var memoryAvailable: UInt64 { memoryLeft.withLock { $0 } }

    /// True the first time it is asked: the warning is given once per mount.
    func shouldWarn() -> Bool {
        warned.withLock { warned in
            defer { warned = true }
            return !warned
        }
    }
}
