#if canImport(Glibc)
import Glibc
#endif
import SafetensorsFormat

/// A local file mapped read-only into memory once, for the life of the mount.
///
/// Reads hand out pointers into the mapping. Nothing in this process dereferences them: the
/// kernel copies from them when replying to FUSE, and if the file shrank underneath, that copy
/// fails with EFAULT instead of raising SIGBUS here. Headers and gathered (strided) tensor slices
/// are read with `pread`, not through the mapping, for the same reason.
///
/// Before handing out or gathering a range, the file's current size is checked: bytes past a
/// new end in the last page would otherwise read as zeros rather than fail, and the check lets
/// the error name the file. A truncation racing with a reply still fails that reply (EFAULT).
public final class MappedFile: ByteSource {
    public let displayName: String
    public let size: UInt64
    public let modificationTime: Timestamp
    /// The path the file was opened at.
    public let path: String
    private let descriptor: Int32
    // The mapping is read-only and lives as long as the object, so sharing it is safe.
    private nonisolated(unsafe) let base: UnsafeRawPointer?

    /// Opens and maps the file at `path`; `displayName` is how errors name it.
    public init(path: String, displayName: String) throws(ByteSourceError) {
        self.path = path
        self.displayName = displayName
        // Non-blocking, so that a FIFO in place of a file fails the type check below instead of
        // waiting for a writer; reads of regular files ignore the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ByteSourceError(source: displayName, reason: .system(call: "open", errno: errno)) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw ByteSourceError(source: displayName, reason: .system(call: "stat", errno: code))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ByteSourceError(source: displayName, reason: status.st_mode & S_IFMT == S_IFDIR ? .system(call: "open", errno: EISDIR) : .notARegularFile)
        }
        descriptor = fd
        size = UInt64(status.st_size)
        modificationTime = Timestamp(seconds: Int64(status.st_mtim.tv_sec), nanoseconds: Int64(status.st_mtim.tv_nsec))
        if size == 0 {
            base = nil
            return
        }
        guard let mapping = mmap(nil, Int(size), PROT_READ, MAP_SHARED, fd, 0), mapping != MAP_FAILED else {
            let code = errno
            close(fd)
            throw ByteSourceError(source: displayName, reason: .system(call: "mmap", errno: code))
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), Int(size)) }
        close(descriptor)
    }

    public func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        try checkBounds(range)
        return try [UInt8](unsafeUninitializedCapacity: Int(range.count)) { (buffer, initialized) throws(ByteSourceError) in
            try copyBytes(in: range, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = buffer.count
        }
    }

    public func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        try checkBounds(range)
        precondition(UInt64(buffer.count) == range.count, "the buffer must hold the range exactly")
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(range.start) + off_t(done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason: ByteSourceError.Reason = count == 0
                    ? .changed(detail: "the file ended at byte \(range.start + UInt64(done)), it was \(size) bytes")
                    : .system(call: "read", errno: errno)
                throw ByteSourceError(source: displayName, reason: reason)
            }
            done += count
        }
    }

    public func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try checkBounds(range)
        if !range.isEmpty { try checkStillHolds(range) }
        var piece = UnsafeRawBufferPointer(start: base.map { $0 + Int(range.start) }, count: Int(range.count))
        return try withUnsafePointer(to: &piece) { (pointer) throws(ByteSourceError) -> Result in
            try body(UnsafeBufferPointer(start: pointer, count: 1))
        }
    }

    /// Fails when the file has shrunk below the end of `range` since it was mapped.
    private func checkStillHolds(_ range: ByteRange) throws(ByteSourceError) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ByteSourceError(source: displayName, reason: .system(call: "stat", errno: errno))
        }
        let currentSize = UInt64(max(status.st_size, 0))
        guard currentSize >= range.end else {
            throw ByteSourceError(source: displayName, reason: .changed(detail: "truncated to \(currentSize) bytes (it was \(size)), so bytes \(range) are gone; remount to serve the new file"))
        }
    }

    /// Gathers `ranges` from the mapping through the kernel, many ranges per system call (see
    /// `OwnMemoryCopy`), after asking for all the pages not yet in memory at once.
    public func copyBytes(in ranges: [ByteRange], into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        for range in ranges { try checkBounds(range) }
        if let start = ranges.lazy.map(\.start).min(), let end = ranges.lazy.map(\.end).max(), start < end {
            try checkStillHolds(ByteRange(start: start, end: end))
        }
        guard let base else { return try copyOneByOne(ranges, into: buffer) }
        requestMissingPages(of: ranges, base: base)
        do {
            try OwnMemoryCopy.copy(ranges.map { UnsafeRawBufferPointer(start: base + Int($0.start), count: Int($0.count)) }, into: buffer)
        } catch {
            switch error.errno {
            case EFAULT:
                throw ByteSourceError(source: displayName, reason: .changed(detail: "its pages could not be read (was it truncated?)"))
            case ENOSYS, EPERM:
                // Some sandboxes forbid process_vm_readv: read with pread instead.
                try copyOneByOne(ranges, into: buffer)
            default:
                throw ByteSourceError(source: displayName, reason: .system(call: "process_vm_readv", errno: error.errno))
            }
        }
    }

    /// Starts reading, all at once and without waiting, the pages of `ranges` that are not in
    /// memory: then no page fault reads around them, and the device sees every request at once.
    private func requestMissingPages(of ranges: [ByteRange], base: UnsafeRawPointer) {
        guard let low = ranges.lazy.map(\.start).min(), let high = ranges.lazy.map(\.end).max(), low < high else { return }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let spanStart = low / page * page
        var resident = [UInt8](repeating: 0, count: Int((high - spanStart + page - 1) / page))
        guard mincore(UnsafeMutableRawPointer(mutating: base + Int(spanStart)), Int(high - spanStart), &resident) == 0 else { return }
        var pending: ByteRange?
        for range in ranges where !range.isEmpty {
            let pages = Int((range.start - spanStart) / page)...Int((range.end - 1 - spanStart) / page)
            guard resident[pages].contains(where: { $0 & 1 == 0 }) else { continue }
            if let current = pending, range.start / page <= (current.end - 1) / page + 1 {
                pending = ByteRange(start: current.start, end: max(current.end, range.end))
            } else {
                if let current = pending { prefetch(current) }
                pending = range
            }
        }
        if let pending { prefetch(pending) }
    }

    /// Asks the kernel to start reading `range` into the page cache, without waiting for it.
    public func prefetch(_ range: ByteRange) {
        guard range.end <= size, !range.isEmpty else { return }
        _ = posix_fadvise(descriptor, off_t(range.start), off_t(range.count), POSIX_FADV_WILLNEED)
    }

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }
}
