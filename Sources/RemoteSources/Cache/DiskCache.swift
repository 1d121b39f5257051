import ByteSources
import SafetensorsFormat
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where one part of one object version lives in the cache.
struct CacheEntryName: Hashable, Sendable {
    /// Sixteen hex digits naming the object version (a hash of its identity).
    var object: String
    /// The part number.
    var part: UInt64

    /// The path below the cache's root.
    var relativePath: String { "\(object)/\(part)" }
}

/// Fetched parts on disk, kept across reads and remounts within a size bound, the least
/// recently used removed first. Entries are keyed by the object's location and version (ETag or
/// Last-Modified, and size), so a changed object never finds old bytes; each entry checks itself
/// when opened, so a torn or corrupted one is removed and refetched. Entries are served from
/// read-only mappings, like local files.
///
/// Files are written to a temporary name and renamed into place, so readers (other mounts
/// sharing the directory too) see whole entries or none.
final class DiskCache: Sendable {
    /// The directory entries live in (`DIR/v1`).
    let root: String
    /// The most bytes the entries may take.
    let capacity: UInt64
    private let log: EventLog
    private let recency = Mutex(RecencyList<String>())
    private let temporaryCounter = Mutex(0)
    private let reportedWriteFailure = Mutex(false)

    /// Opens (creating if needed) the cache in `directory`, holding at most `capacity` bytes.
    init(directory: String, capacity: UInt64, log: EventLog) throws(RemoteSetupError) {
        root = (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/v1"
        self.capacity = capacity
        self.log = log
        for path in [directory, root] where mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw RemoteSetupError(description: "\(directory): cannot create the cache directory: \(String(cString: strerror(errno)))")
        }
        guard access(root, W_OK | X_OK) == 0 else {
            throw RemoteSetupError(description: "\(directory): cannot write to the cache directory: \(String(cString: strerror(errno)))")
        }
        scan()
    }

    /// The entry `name` if it holds `identity` and covers `need` and passes its checks; nil
    /// otherwise (a damaged entry is removed).
    func load(_ name: CacheEntryName, identity: String, covering need: ByteRange) -> Fragment? {
        let path = root + "/" + name.relativePath
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        switch verify(descriptor, identity: identity) {
        case .failure(let defect):
            log.write(.warning, "cache entry \(path) has \(defect.reason); removing it and fetching the part again")
            remove(name.relativePath)
            return nil
        case .success(let (trailer, fileSize)):
            guard trailer.range.contains(need) else { return nil }
            guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else { return nil }
            futimens(descriptor, nil)
            recency.withLock { $0.touch(name.relativePath, weight: UInt64(fileSize)) }
            return Fragment(range: trailer.range, mapping: mapping, length: fileSize)
        }
    }

    /// Writes `fragment` as entry `name` of `identity`, replacing what was there, then removes
    /// the least recently used entries beyond the capacity.
    func store(_ fragment: Fragment, as name: CacheEntryName, identity: String) {
        let trailer = CacheEntryFormat.encode(CacheEntryFormat.Trailer(
            range: fragment.range, dataHash: XXHash64.hash(fragment.bytes), identity: identity))
        let size = UInt64(fragment.bytes.count + trailer.count)
        guard size <= capacity else { return }
        let directory = root + "/" + name.object
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { return reportWriteFailure(directory) }
        let number = temporaryCounter.withLock { counter in
            counter += 1
            return counter
        }
        let temporary = "\(directory)/.\(name.part).tmp.\(getpid()).\(number)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return reportWriteFailure(temporary) }
        let written = writeAll(descriptor, fragment.bytes) && trailer.withUnsafeBytes { writeAll(descriptor, $0) }
        close(descriptor)
        guard written, rename(temporary, root + "/" + name.relativePath) == 0 else {
            unlink(temporary)
            return reportWriteFailure(temporary)
        }
        let victims = recency.withLock { list -> [String] in
            list.touch(name.relativePath, weight: size)
            return list.evict(downTo: capacity, keeping: name.relativePath)
        }
        for victim in victims { unlinkEntry(victim) }
    }

    /// The bytes the entries take now.
    var usedBytes: UInt64 {
        recency.withLock { $0.totalWeight }
    }

    // MARK: Checks

    private func verify(_ descriptor: Int32, identity: String) -> Result<(CacheEntryFormat.Trailer, Int), CacheEntryDefect> {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(CacheEntryDefect(reason: "no readable file")) }
        let fileSize = Int(status.st_size)
        guard fileSize >= CacheEntryFormat.tailLength,
              let tail = readExactly(descriptor, count: CacheEntryFormat.tailLength, at: fileSize - CacheEntryFormat.tailLength),
              let trailerLength = CacheEntryFormat.trailerLength(tail: tail),
              trailerLength <= fileSize,
              let trailerBytes = readExactly(descriptor, count: trailerLength, at: fileSize - trailerLength) else {
            return .failure(CacheEntryDefect(reason: "no trailer (a torn write?)"))
        }
        let trailer: CacheEntryFormat.Trailer
        switch CacheEntryFormat.decode(trailerBytes) {
        case .success(let decoded): trailer = decoded
        case .failure(let defect): return .failure(defect)
        }
        guard trailer.identity == identity else { return .failure(CacheEntryDefect(reason: "another object's bytes")) }
        guard UInt64(fileSize - trailerLength) == trailer.range.count else {
            return .failure(CacheEntryDefect(reason: "the wrong length (a torn write?)"))
        }
        guard hashOfData(descriptor, count: Int(trailer.range.count)) == trailer.dataHash else {
            return .failure(CacheEntryDefect(reason: "bytes that fail their checksum"))
        }
        return .success((trailer, fileSize))
    }

    /// XXH64 of the first `count` bytes, read with `pread` rather than through a mapping, so
    /// that a file truncated meanwhile fails the check instead of raising SIGBUS.
    private func hashOfData(_ descriptor: Int32, count: Int) -> UInt64? {
        var hasher = XXHash64()
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { chunk.deallocate() }
        var offset = 0
        while offset < count {
            let wanted = min(chunkSize, count - offset)
            let got = pread(descriptor, chunk.baseAddress, wanted, off_t(offset))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[..<got]))
            offset += got
        }
        return hasher.finalize()
    }

    // MARK: Housekeeping

    /// Learns what is on disk, oldest use first (file times carry it across remounts), removes
    /// temporary files a crash left, and trims to the capacity.
    private func scan() {
        var found: [(path: String, size: UInt64, time: timespec)] = []
        for object in (try? OpenDirectory.open(root).entryNames()) ?? [] {
            let directory = root + "/" + object
            for entry in (try? OpenDirectory.open(directory).entryNames()) ?? [] {
                let path = directory + "/" + entry
                if entry.hasPrefix(".") {
                    unlink(path)
                    continue
                }
                var status = stat()
                guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
                found.append((object + "/" + entry, UInt64(status.st_size), status.st_mtim))
            }
        }
        found.sort { ($0.time.tv_sec, $0.time.tv_nsec) < ($1.time.tv_sec, $1.time.tv_nsec) }
        let victims = recency.withLock { list -> [String] in
            for entry in found { list.touch(entry.path, weight: entry.size) }
            return list.evict(downTo: capacity)
        }
        for victim in victims { unlinkEntry(victim) }
    }

    private func remove(_ relativePath: String) {
        _ = recency.withLock { $0.remove(relativePath) }
        unlinkEntry(relativePath)
    }

    private func unlinkEntry(_ relativePath: String) {
        unlink(root + "/" + relativePath)
        if let slash = relativePath.firstIndex(of: "/") {
            rmdir(root + "/" + relativePath[..<slash])
        }
    }

    private func reportWriteFailure(_ path: String) {
        let code = errno
        let first = reportedWriteFailure.withLock { reported in
            defer { reported = true }
            return !reported
        }
        if first {
            log.write(.warning, "cannot write to the cache (\(path): \(String(cString: strerror(code)))); reads go on without caching what fails")
        }
    }
}

/// Exactly `count` bytes at `offset`, or nil.
func readExactly(_ descriptor: Int32, count: Int, at offset: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
        if got < 0 && errno == EINTR { continue }
        guard got > 0 else { return nil }
        done += got
    }
    return bytes
}

/// Writes all of `bytes`; false on failure.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var done = 0
    while done < bytes.count {
        let count = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return false }
        done += count
    }
    return true
}

/// Why remote reading could not be set up (a cache directory that cannot be used, say).
public struct RemoteSetupError: Error, Sendable, CustomStringConvertible {
    /// One line for the user.
    public var description: String
}
