/// The components of one tensor's path (directories, then the file), written end to end into
/// memory reused from tensor to tensor: the namespace plans a hundred thousand paths and keeps
/// only their nodes. The owner calls `deallocate()` when done.
struct PathComponents {
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 1)
    private var used = 0
    /// Where each component ends in the storage.
    private var ends: [Int] = []

    /// How many components there are; the last one is the file.
    var count: Int { ends.count }

    /// Component `index`, valid until the components change.
    func component(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
    }

    /// Forgets every component, keeping the memory.
    mutating func removeAll() {
        used = 0
        ends.removeAll(keepingCapacity: true)
    }

    /// Adds `component` after the others.
    mutating func append(_ component: UnsafeRawBufferPointer) {
        if used + component.count > storage.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * (used + component.count), alignment: 1)
            grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<used]))
            storage.deallocate()
            storage = grown
        }
        UnsafeMutableRawBufferPointer(rebasing: storage[used..<used + component.count]).copyMemory(from: component)
        used += component.count
        ends.append(used)
    }

    /// Frees the memory; the value must not be used afterwards.
    func deallocate() {
        storage.deallocate()
    }
}
