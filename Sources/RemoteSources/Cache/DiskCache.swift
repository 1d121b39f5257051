import ByteSources
import SafetensorsFormat
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Fetched parts on disk, kept across reads and remounts within a size bound, the least
/// recently used removed first. Entries are keyed by the object's location and version (ETag or
/// Last-Modified, and size), so a changed object never finds old bytes; each entry checks itself
/// as it is read, so a torn or corrupted one is removed and refetched.
///
/// Files are written to a temporary name and renamed into place, so readers (other mounts
/// sharing the directory too) see whole entries or none. Everything happens through open
/// directories, never following a symbolic link, and only regular files are read: what else
/// appears in the cache is removed (links themselves, never what they point at) or left alone.
/// Entries are 0600 in folders of 0700, so other users cannot read the bytes of private models.
final class DiskCache: Sendable {
    /// The folder entries live in (`DIR/v1`), for messages.
    let rootPath: String
    /// The most bytes the entries may take.
    let capacity: UInt64
    let root: OpenDirectory
    let log: EventLog
    private let buffers: BufferPool
    let recency = Mutex(RecencyList<String>())
    let temporaryCounter = Mutex(0)
    private let reportedWriteFailure = Mutex(false)

    /// Opens (creating if needed) the cache in `directory`, holding at most `capacity` bytes and
    /// reading entries into memory from `buffers`; refuses a directory that is not safe to use.
    init(directory: String, capacity: UInt64, log: EventLog, buffers: BufferPool) throws(RemoteSetupError) {
        root = try CacheDirectory.open(directory)
        rootPath = (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + CacheDirectory.entriesFolder
        self.capacity = capacity
        self.log = log
        self.buffers = buffers
        scan()
    }

    /// The entry `name`, read into memory, if it holds `identity` and covers `need` (within the
    /// part's range `part`) and passes its checks; nil otherwise (a damaged entry is removed).
    func load(_ name: CacheEntryName, identity: String, covering need: ByteRange, within part: ByteRange) -> Fragment? {
        guard let folder = folder(name.object, creating: false) else { return nil }
        let entry = String(name.part)
        let file: FileDescriptor
        do throws(Errno) {
            file = try folder.openFile(named: entry)
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            removeStranger(entry, in: folder, path: name.relativePath)
            return nil
        }
        defer { try? file.close() }
        guard let status = try? file.stat() else { return nil }
        guard status.type == .regular else {
            removeStranger(entry, in: folder, path: name.relativePath)
            return nil
        }
        switch read(file, fileSize: Int(status.size), identity: identity, covering: need, within: part) {
        case .failure(let defect):
            log.write(.warning, "cache entry \(rootPath)/\(name.relativePath) has \(defect.reason); removing it and fetching the part again")
            remove(name.relativePath)
            return nil
        case .success(nil):
            return nil
        case .success(let (fragment, fileSize)?):
            _ = try? systemCall { futimens(file.rawValue, nil) }
            recency.withLock { $0.touch(name.relativePath, weight: fileSize) }
            return fragment
        }
    }

    /// Writes `fragment` as entry `name` of `identity`, replacing what was there unless that
    /// already holds all of its bytes, then removes the least recently used entries beyond the
    /// capacity.
    func store(_ fragment: Fragment, as name: CacheEntryName, identity: String) {
        let trailer = CacheEntryFormat.encode(CacheEntryFormat.Trailer(
            range: fragment.range, dataHash: XXHash64.hash(fragment.bytes), identity: identity))
        let size = UInt64(fragment.bytes.count + trailer.count)
        guard size <= capacity, let folder = folder(name.object, creating: true) else { return }
        let entry = String(name.part)
        if let stored = storedRange(of: entry, in: folder, identity: identity), stored.contains(fragment.range) { return }
        let number = temporaryCounter.withLock { counter in
            counter += 1
            return counter
        }
        let temporary = ".\(entry).tmp.\(getpid()).\(number)"
        do {
            let file = try folder.openFile(named: temporary, .writeOnly, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
            do {
                defer { try? file.close() }
                try file.writeAll(fragment.bytes)
                try file.writeAll(trailer)
            } catch {
                try? folder.removeFile(named: temporary)
                throw error
            }
            try folder.rename(temporary, to: entry)
        } catch {
            try? folder.removeFile(named: temporary)
            return reportWriteFailure(name.relativePath, error)
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

    // MARK: Reading entries

    /// The entry open at `file` (`fileSize` bytes) in memory with its size, after its checks: its trailer names `identity` and a range within `part`, whose bytes match their
    /// checksum. Nil when it is sound but lacks bytes of `need`.
    private func read(_ file: FileDescriptor, fileSize: Int, identity: String, covering need: ByteRange, within part: ByteRange) -> Result<(Fragment, UInt64)?, CacheEntryDefect> {
        let trailer: CacheEntryFormat.Trailer
        switch readTrailer(file, fileSize: fileSize) {
        case .success(let decoded): trailer = decoded.trailer
        case .failure(let defect): return .failure(defect)
        }
        guard trailer.identity == identity else { return .failure(CacheEntryDefect(reason: "another object's bytes")) }
        guard part.contains(trailer.range) else { return .failure(CacheEntryDefect(reason: "bytes of another part")) }
        guard trailer.range.contains(need) else { return .success(nil) }
        let buffer = buffers.take(count: Int(trailer.range.count))
        let fragment = Fragment(range: trailer.range, buffer: buffer, pool: buffers)
        let target = UnsafeMutableRawBufferPointer(start: buffer.pointer, count: Int(trailer.range.count))
        guard (try? file.readFully(into: target, at: 0)) == target.count else {
            return .failure(CacheEntryDefect(reason: "fewer bytes than its trailer says (a torn write?)"))
        }
        guard XXHash64.hash(UnsafeRawBufferPointer(target)) == trailer.dataHash else {
            return .failure(CacheEntryDefect(reason: "bytes that fail their checksum"))
        }
        return .success((fragment, UInt64(fileSize)))
    }

    /// The trailer of the entry open at `file`, `fileSize` bytes long, after checking that it
    /// is whole and that the file holds exactly the bytes it announces.
    func readTrailer(_ file: FileDescriptor, fileSize: Int) -> Result<(trailer: CacheEntryFormat.Trailer, length: Int), CacheEntryDefect> {
        let torn = CacheEntryDefect(reason: "no trailer (a torn write?)")
        guard fileSize >= CacheEntryFormat.tailLength,
              let tail = try? file.readFully(count: CacheEntryFormat.tailLength, at: fileSize - CacheEntryFormat.tailLength),
              let length = CacheEntryFormat.trailerLength(tail: tail), length <= fileSize,
              let bytes = try? file.readFully(count: length, at: fileSize - length) else {
            return .failure(torn)
        }
        switch CacheEntryFormat.decode(bytes) {
        case .success(let trailer):
            guard UInt64(fileSize - length) == trailer.range.count else {
                return .failure(CacheEntryDefect(reason: "the wrong length (a torn write?)"))
            }
            return .success((trailer, length))
        case .failure(let defect):
            return .failure(defect)
        }
    }

    /// The range the entry `entry` of `folder` holds for `identity`, by its trailer alone.
    private func storedRange(of entry: String, in folder: OpenDirectory, identity: String) -> ByteRange? {
        guard let file = try? folder.openFile(named: entry) else { return nil }
        defer { try? file.close() }
        guard let status = try? file.stat(), status.type == .regular,
              case .success(let found) = readTrailer(file, fileSize: Int(status.size)), found.trailer.identity == identity else { return nil }
        return found.trailer.range
    }

    // MARK: Housekeeping

    /// The folder of `object`, made (0700) if asked and missing; nil when it cannot be had,
    /// such as when a symbolic link or a file is in its place.
    func folder(_ object: String, creating: Bool) -> OpenDirectory? {
        do throws(Errno) {
            if creating {
                do throws(Errno) {
                    try root.makeDirectory(named: object, permissions: .ownerReadWriteExecute)
                } catch .fileExists {
                }
            }
            return try root.openDirectory(named: object)
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            removeStranger(object, in: root, path: object)
            if creating { reportWriteFailure(object, error) }
            return nil
        }
    }

    /// Learns what is on disk, oldest use first (file times carry it across remounts), removes
    /// temporary files a crash left and anything but files and folders, and trims to the
    /// capacity.
    private func scan() {
        var found: [(path: String, size: UInt64, time: timespec)] = []
        var strangers: [String] = []
        for object in (try? root.entryNames()) ?? [] {
            guard let status = try? root.status(of: object) else { continue }
            guard status.type == .directory else {
                strangers.append(describe(object, status.type))
                try? root.removeFile(named: object)
                continue
            }
            guard let folder = try? root.openDirectory(named: object) else { continue }
            for entry in (try? folder.entryNames()) ?? [] {
                guard let status = try? folder.status(of: entry) else { continue }
                switch status.type {
                case .regular where entry.hasPrefix("."):
                    try? folder.removeFile(named: entry)
                case .regular:
                    found.append((object + "/" + entry, UInt64(status.size), status.st_mtim))
                case .directory:
                    strangers.append(describe(object + "/" + entry, status.type) + ", left alone")
                default:
                    strangers.append(describe(object + "/" + entry, status.type))
                    try? folder.removeFile(named: entry)
                }
            }
        }
        if !strangers.isEmpty {
            let shown = strangers.prefix(5).joined(separator: ", ") + (strangers.count > 5 ? ", …" : "")
            log.write(.warning, "the cache \(rootPath) held \(strangers.count) \(strangers.count == 1 ? "entry" : "entries") that \(strangers.count == 1 ? "is" : "are") no cache file, never followed and removed: \(shown)")
        }
        found.sort { ($0.time.tv_sec, $0.time.tv_nsec) < ($1.time.tv_sec, $1.time.tv_nsec) }
        let victims = recency.withLock { list -> [String] in
            for entry in found { list.touch(entry.path, weight: entry.size) }
            return list.evict(downTo: capacity)
        }
        for victim in victims { unlinkEntry(victim) }
    }

    /// `name` with what it is, for the log.
    private func describe(_ name: String, _ type: FileType) -> String {
        let kind = switch type {
        case .symbolicLink: "a symbolic link"
        case .fifo: "a FIFO"
        case .socket: "a socket"
        case .characterSpecial, .blockSpecial: "a device"
        case .directory: "a directory"
        case .regular: "a file outside any object's folder"
        default: "not a regular file"
        }
        return "\(name) (\(kind))"
    }

    /// Removes `name` from `folder` (at `path` in the cache) if it is neither a file nor a
    /// folder but stands where one belongs (a link is removed itself, never what it points
    /// at), and says so in the log.
    private func removeStranger(_ name: String, in folder: OpenDirectory, path: String) {
        guard let status = try? folder.status(of: name), status.type != .regular, status.type != .directory else { return }
        try? folder.removeFile(named: name)
        log.write(.warning, "the cache held \(rootPath)/\(describe(path, status.type)) where a cache file or folder belongs; removed it, never followed")
    }

    func remove(_ relativePath: String) {
        _ = recency.withLock { $0.remove(relativePath) }
        unlinkEntry(relativePath)
    }

    func unlinkEntry(_ relativePath: String) {
        guard let slash = relativePath.firstIndex(of: "/") else { return }
        let object = String(relativePath[..<slash])
        try? folder(object, creating: false)?.removeFile(named: String(relativePath[relativePath.index(after: slash)...]))
        try? root.removeDirectory(named: object)
    }

    func reportWriteFailure(_ relativePath: String, _ error: any Error) {
        let first = reportedWriteFailure.withLock { reported in
            defer { reported = true }
            return !reported
        }
        if first {
            log.write(.warning, "cannot write to the cache (\(rootPath)/\(relativePath): \(error)); reads go on without caching what fails")
        }
    }
}
