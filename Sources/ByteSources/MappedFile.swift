import SafetensorsFormat
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

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
    /// The open file, for whoever needs its descriptor (FUSE passthrough).
    public let descriptor: FileDescriptor
    // The mapping is read-only and lives as long as the object, so sharing it is safe.
    private nonisolated(unsafe) let base: UnsafeRawPointer?

    /// Opens and maps the file at `path`; `displayName` is how errors name it.
    public convenience init(path: String, displayName: String) throws(ByteSourceError) {
        // Non-blocking, so that a FIFO in place of a file fails the type check instead of
        // waiting for a writer; reads of regular files ignore the flag.
        let descriptor: CInt
        do {
            descriptor = try systemCall { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        } catch {
            // A socket cannot be opened at all (ENXIO): say what it is rather than that.
            throw ByteSourceError(source: displayName, reason: error == .noSuchAddressOrDevice ? .notARegularFile : .system(call: "open", error))
        }
        try self.init(adopting: FileDescriptor(rawValue: descriptor), displayName: displayName)
    }

    /// Maps the file open at `descriptor`, which the new value owns (and closes, also when
    /// this fails): for callers that opened the file themselves, to check it after the open.
    public init(adopting descriptor: FileDescriptor, displayName: String) throws(ByteSourceError) {
        self.displayName = displayName
        self.descriptor = descriptor
        let status: Stat
        do {
            status = try descriptor.stat()
        } catch {
            try? descriptor.close()
            throw ByteSourceError(source: displayName, reason: .system(call: "stat", error))
        }
        guard status.type == .regular else {
            try? descriptor.close()
            throw ByteSourceError(source: displayName, reason: status.type == .directory ? .system(call: "open", .isDirectory) : .notARegularFile)
        }
        size = UInt64(status.size)
        modificationTime = Timestamp(status.st_mtim)
        if size == 0 {
            base = nil
            return
        }
        guard let mapping = mmap(nil, Int(size), PROT_READ, MAP_SHARED, descriptor.rawValue, 0), mapping != MAP_FAILED else {
            let code = Errno.current
            try? descriptor.close()
            throw ByteSourceError(source: displayName, reason: .system(call: "mmap", code))
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), Int(size)) }
        try? descriptor.close()
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
            let count: Int
            do {
                count = try systemCall { pread(descriptor.rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(range.start) + off_t(done)) }
            } catch {
                throw ByteSourceError(source: displayName, reason: .system(call: "read", error))
            }
            guard count > 0 else {
                throw ByteSourceError(source: displayName, reason: .changed(detail: "the file ended at byte \(range.start + UInt64(done)), it was \(size) bytes"))
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
        let currentSize: UInt64
        do {
            currentSize = UInt64(max(try descriptor.stat().size, 0))
        } catch {
            throw ByteSourceError(source: displayName, reason: .system(call: "stat", error))
        }
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
            case .badAddress:
                throw ByteSourceError(source: displayName, reason: .changed(detail: "its pages could not be read (was it truncated?)"))
            case .noFunction, .notPermitted:
                // Some sandboxes forbid process_vm_readv: read with pread instead.
                try copyOneByOne(ranges, into: buffer)
            default:
                throw ByteSourceError(source: displayName, reason: .system(call: "process_vm_readv", error.errno))
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
        _ = posix_fadvise(descriptor.rawValue, off_t(range.start), off_t(range.count), POSIX_FADV_WILLNEED)
    }

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }
}
