import Synchronization

/// Bytes made by tensorfs (a sidecar, a header), held at a fixed address so that replies can
/// point into them, and never changed once made.
public final class GeneratedBytes: Sendable {
    // Written once in init, read-only afterwards.
    private nonisolated(unsafe) let storage: UnsafeMutableRawBufferPointer

    /// Copies `bytes` into stable storage.
    public init(_ bytes: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        count = bytes.count
    }

    /// Allocates `count` bytes and lets `fill` write every one of them.
    public init<Failure: Error>(count: Int, fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        do {
            try fill(UnsafeMutableRawBufferPointer(rebasing: storage[..<count]))
        } catch {
            storage.deallocate()
            throw error
        }
        self.storage = storage
        self.count = count
    }

    deinit { storage.deallocate() }

    /// How many bytes there are.
    public let count: Int

    /// The bytes.
    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[..<count]) }
}

/// A value computed on first use, then shared by all threads.
final class Lazy<Value: Sendable>: Sendable {
    private let state = Mutex<Value?>(nil)
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) {
        self.make = make
    }

    var value: Value {
        state.withLock { cached in
            if let cached { return cached }
            let made = make()
            cached = made
            return made
        }
    }
}
