import Synchronization

/// A value computed on first use, then shared by all threads. Once made, reading it takes one
/// atomic load, no lock (lookups of the namespace read one on every request), and what made it
/// is let go.
final class Lazy<Value: Sendable>: Sendable {
    private let state = Mutex<Void>(())
    private let isMade = Atomic<Bool>(false)
    // Written once, under the lock, before `isMade` is set; read only after it is seen set.
    private nonisolated(unsafe) var made: Value?
    // Used and cleared under the lock.
    private nonisolated(unsafe) var make: (@Sendable () -> Value)?

    init(_ make: @escaping @Sendable () -> Value) {
        self.make = make
    }

    var value: Value {
        if isMade.load(ordering: .acquiring) { return made! }
        return state.withLock { _ in
            if isMade.load(ordering: .acquiring) { return made! }
            let value = make!()
            made = value
            make = nil
            isMade.store(true, ordering: .releasing)
            return value
        }
    }

    /// Whether the value has been made.
    var isAvailable: Bool { isMade.load(ordering: .acquiring) }
}
