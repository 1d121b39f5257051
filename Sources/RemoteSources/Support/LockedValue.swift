import Synchronization

/// A value any thread may read and replace.
final class LockedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    /// Holds `value`.
    init(_ value: Value) {
        storage = Mutex(value)
    }

    /// The value now.
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    /// Stores `value`; returns the one it replaced.
    func exchange(_ value: Value) -> Value {
        storage.withLock { current in
            defer { current = value }
            return current
        }
    }
}
