/// The components of many tensor paths (directories, then the file, for each path), written
/// end to end into one block of memory: the namespace plans a hundred thousand paths, on all
/// cores, and keeps only their nodes. The owner calls `deallocate()` when done.
///
/// A list is written by one thread and read by others only once the writer has finished.
struct PathComponents: @unchecked Sendable {
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    private var used = 0
    /// Where each component ends in the storage.
    private var componentEnds: [Int] = []
    /// How many components there are after each path.
    private var pathEnds: [Int] = []

    /// How many paths the list holds.
    var pathCount: Int { pathEnds.count }

    /// The components of path `index`: the last one is the file.
    func components(ofPath index: Int) -> Range<Int> {
        (index == 0 ? 0 : pathEnds[index - 1])..<pathEnds[index]
    }

    /// Component `index` (counted across all paths).
    func component(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[(index == 0 ? 0 : componentEnds[index - 1])..<componentEnds[index]])
    }

    /// Adds `component` to the path being written.
    mutating func append(_ component: UnsafeRawBufferPointer) {
        if used + component.count > storage.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * (used + component.count), alignment: 1)
            grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<used]))
            storage.deallocate()
            storage = grown
        }
        UnsafeMutableRawBufferPointer(rebasing: storage[used..<used + component.count]).copyMemory(from: component)
        used += component.count
        componentEnds.append(used)
    }

    /// Ends the path being written.
    mutating func endPath() {
        pathEnds.append(componentEnds.count)
    }

    /// Frees the memory; the value must not be used afterwards.
    func deallocate() {
        storage.deallocate()
    }
}
