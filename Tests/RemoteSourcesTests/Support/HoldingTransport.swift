@testable import RemoteSources
import SafetensorsFormat
import Synchronization

/// A transport that keeps the requests `holds` picks in flight until `release`, and passes the
/// others at once to a scripted transport: what tests of requests in flight look at.
final class HoldingTransport: Transport, Sendable {
    private let inner: ScriptedTransport
    private let holds: @Sendable (HTTPRequest) -> Bool
    private let held = Mutex<[(exchange: Exchange, delay: UInt64)]>([])

    /// Holds the requests for which `holds` is true; `inner` answers the rest, and the held
    /// ones once released.
    init(_ inner: ScriptedTransport, holds: @escaping @Sendable (HTTPRequest) -> Bool) {
        self.inner = inner
        self.holds = holds
    }

    func send(_ exchange: Exchange, afterMilliseconds delay: UInt64) {
        if holds(exchange.request) {
            held.withLock { $0.append((exchange, delay)) }
        } else {
            inner.send(exchange, afterMilliseconds: delay)
        }
    }

    /// The ranges of the requests held now.
    var heldRanges: [ByteRange] {
        held.withLock { $0.compactMap(\.exchange.request.range) }
    }

    /// Lets the held requests for which `picked` is true be answered.
    func release(where picked: (HTTPRequest) -> Bool) {
        let released = held.withLock { held in
            let released = held.filter { picked($0.exchange.request) }
            held.removeAll { picked($0.exchange.request) }
            return released
        }
        for (exchange, delay) in released { inner.send(exchange, afterMilliseconds: delay) }
    }
}
