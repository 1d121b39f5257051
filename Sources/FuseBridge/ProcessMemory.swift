import CFuse

/// The daemon's heap: roomy while loading, small for the life of the mount.
///
/// Loading a large model allocates and frees tens of megabytes (parsed headers, the index, the
/// namespace's working tables). Left to its defaults, glibc maps each large block on its own and
/// returns freed memory at once, so every block comes back as fresh pages the kernel must fault
/// in and clear: about a tenth of mounting 100k tensors. While loading, blocks stay in the heap
/// and freed memory is kept for reuse; once the filesystem is built, the free pages go back to
/// the system and large blocks (a merged header made at each opening) get mappings of their own
/// again, so that freeing them returns their memory.
public enum ProcessMemory {
    /// While serving, blocks of this size and more are mapped on their own.
    static let ownMappingThreshold: Int32 = 1 << 20
    /// glibc's defaults for how much free memory the heap's top keeps, and the least it grows by.
    static let defaultTrimThreshold: Int32 = 128 << 10
    static let defaultTopPad: Int32 = 128 << 10

    /// Lets the heap grow in large steps and keep what is freed. Call before loading.
    public static func prepareForLoading() {
        // 32 MiB is the most glibc accepts on 64-bit systems.
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TOP_PAD, 64 << 20)
        mallopt(M_TRIM_THRESHOLD, Int32.max)
    }

    /// Returns the free pages of every arena to the system and sets the heap up for serving
    /// (fixing the threshold for own mappings also stops glibc from raising it). Call once the
    /// filesystem is built.
    public static func prepareForServing() {
        mallopt(M_MMAP_THRESHOLD, ownMappingThreshold)
        mallopt(M_TOP_PAD, defaultTopPad)
        mallopt(M_TRIM_THRESHOLD, defaultTrimThreshold)
        malloc_trim(0)
    }
}
