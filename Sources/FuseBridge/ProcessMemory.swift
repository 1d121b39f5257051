import CFuse

/// The daemon's heap, kept small for the life of a mount. Loading a large model frees megabytes
/// (parsed headers, the index, the namespace's working tables) that glibc keeps in its arenas,
/// and a large block freed raises the size above which glibc maps blocks on their own, so later
/// large buffers (a merged header made at each opening) would stay in the heap as well.
public enum ProcessMemory {
    /// Blocks of this size and more are mapped on their own and unmapped when freed.
    static let ownMappingThreshold: Int32 = 1 << 20

    /// Fixes the threshold above which blocks get mappings of their own (which also stops glibc
    /// from raising it). Call before loading.
    public static func mapLargeBlocksApart() {
        mallopt(M_MMAP_THRESHOLD, ownMappingThreshold)
    }

    /// Returns the free pages of every arena to the system. Call once the filesystem is built.
    public static func releaseFreePages() {
        malloc_trim(0)
    }
}
