import Synchronization

/// Bytes made by tensorfs (a sidecar, a header), held at a fixed address so that replies can
/// point into them, and never changed once made.
public final class GeneratedBytes: Sendable {
    // Written once in init, read-only afterwards.
    private nonisolated(unsafe) let storage: UnsafeMutableRawBufferPointer

    /// Copies `bytes` into stable storage.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { storage in
            bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        }
    }

    /// Allocates `count` bytes and lets `fill` write every one of them, so that large contents
    /// are made in place rather than copied.
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
