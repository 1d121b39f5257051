import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Several transports sharing the exchanges, each exchange going to the one with the fewest in
/// flight: for a mount, libcurl engines on threads of their own. Receiving bodies and copying
/// them into their parts is most of a fast read's work in the daemon; one engine does it all on
/// one core.
final class TransferEngineGroup: Transport, Sendable {
    private let members: [any Transport]
    private let inFlight: Mutex<[Int]>

    /// One engine per core, up to four.
    static var defaultCount: Int {
        min(4, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// A group of `members` (at least one).
    init(_ members: [any Transport]) {
        precondition(!members.isEmpty, "a group needs a transport")
        self.members = members
        inFlight = Mutex([Int](repeating: 0, count: members.count))
    }

    /// `count` libcurl engines with `timeouts`, all ending their transfers once `shouldAbandon`
    /// says so.
    convenience init(engines count: Int, timeouts: TransferEngine.Timeouts, shouldAbandon: @escaping @Sendable () -> Bool) {
        self.init((0..<max(1, count)).map { _ in TransferEngine(timeouts: timeouts, shouldAbandon: shouldAbandon) })
    }

    func send(_ exchange: Exchange, afterMilliseconds delay: UInt64) {
        let chosen = inFlight.withLock { counts in
            let index = counts.indices.min { counts[$0] < counts[$1] }!
            counts[index] += 1
            return index
        }
        var counted = exchange
        counted.completion = { result in
            self.inFlight.withLock { $0[chosen] -= 1 }
            exchange.completion(result)
        }
        members[chosen].send(counted, afterMilliseconds: delay)
    }
}
