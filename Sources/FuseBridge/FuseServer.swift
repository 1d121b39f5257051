import ByteSources
import CFuse
import SystemPackage
import SafetensorsFormat
import Synchronization
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// Serves a `TensorFileSystem` through libfuse's low-level API.
public final class FuseServer: @unchecked Sendable {
    /// The filesystem served.
    public let fileSystem: TensorFileSystem
    let log: EventLog
    /// Who every node belongs to, and the mode bits withheld (`-o uid=,gid=,umask=`).
    private let ownership: FileOwnership
    private let owner: (uid: uid_t, gid: gid_t)
    private let tracing: Bool
    /// Where the session stands, for `hasEnded`, which other threads ask about.
    let liveSession = Mutex<SessionState>(.notStarted)
    /// Whether the kernel opens directories without asking (set at INIT): then OPENDIR answers
    /// ENOSYS once and no directory open or release reaches the daemon again.
    let directoriesOpenWithoutRequests = Atomic<Bool>(false)

    /// Hands whole local files to the kernel to read itself.
    let passthrough: Passthrough

    /// A bridge for `fileSystem` whose nodes report `ownership`; with `passthrough`, files that
    /// show one whole local file are read by the kernel itself where it can.
    public init(fileSystem: TensorFileSystem, log: EventLog, ownership: FileOwnership = FileOwnership(), passthrough: Bool = true) {
        self.fileSystem = fileSystem
        self.log = log
        self.ownership = ownership
        self.passthrough = Passthrough(isWanted: passthrough, log: log)
        owner = ownership.owner
        tracing = log.isEnabled(.debug)
    }

    /// Whether the session is over: unmounted (the kernel ended the connection) or told to exit
    /// (a signal). Requests still being served then have no reader left to wait for them, or a
    /// daemon that wants to exit; anything they wait for is best abandoned. Any thread may ask.
    public var hasEnded: Bool {
        liveSession.withLock { state in
            switch state {
            case .notStarted: false
            case .running(let session): fuse_session_exited(session.pointer) != 0
            case .ended: true
            }
        }
    }

    /// The bridge serving `request`.
    static func of(_ request: fuse_req_t?) -> FuseServer {
        fromUserData(fuse_req_userdata(request)!)
    }

    /// The bridge whose session was given `userdata`.
    static func fromUserData(_ userdata: UnsafeMutableRawPointer) -> FuseServer {
        Unmanaged<FuseServer>.fromOpaque(userdata).takeUnretainedValue()
    }

    func trace(_ message: @autoclosure () -> String) {
        if tracing { log.write(.debug, message()) }
    }

    /// Called from the INIT request: chooses what the connection does. Readiness is reported
    /// later, once a request has been answered (`FuseServer.serve`).
    func configure(_ connection: UnsafeMutablePointer<fuse_conn_info>) {
        let capable = connection.pointee.capable
        var want = connection.pointee.want
        // Attributes never change: no need to recheck the cache against them.
        want &= ~UInt32(FUSE_CAP_AUTO_INVAL_DATA)
        for capability in [FUSE_CAP_ASYNC_READ, FUSE_CAP_READDIRPLUS, FUSE_CAP_PARALLEL_DIROPS] where capable & UInt32(capability) != 0 {
            want |= UInt32(capability)
        }
        want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO)
        // Directories need nothing at open: the kernel's defaults for an open it does not send
        // keep their cached listings, as our replies would.
        if capable & UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT) != 0 {
            want |= UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT)
            directoriesOpenWithoutRequests.store(true, ordering: .releasing)
        }
        connection.pointee.want = want
        // Each stream read sequentially keeps a read-ahead window of requests in flight; with the
        // kernel's 12 (congested at 9) a few concurrent readers make it skip read-ahead.
        connection.pointee.max_background = 64
        connection.pointee.congestion_threshold = 48
        log.write(.info, "connection open: max_write \(connection.pointee.max_write), max_readahead \(connection.pointee.max_readahead)")
    }

    /// The file a FUSE file handle stands for (set by `open`); nil for handle 0.
    static func openFile(handle: UInt64) -> OpenFile? {
        guard handle != 0, let pointer = UnsafeRawPointer(bitPattern: UInt(handle)) else { return nil }
        return Unmanaged<OpenFile>.fromOpaque(pointer).takeUnretainedValue()
    }

    // MARK: Replies

    func stat(_ attributes: FileAttributes) -> stat {
        var status = Glibc.stat()
        status.st_ino = UInt(attributes.inode.rawValue)
        status.st_mode = (attributes.isDirectory ? S_IFDIR : S_IFREG) | ownership.mode(attributes.permissions)
        status.st_nlink = UInt(attributes.linkCount)
        status.st_uid = owner.uid
        status.st_gid = owner.gid
        status.st_size = Int(clamping: attributes.size)
        status.st_blocks = Int(clamping: (attributes.size + 511) / 512)
        // Large reads of files; but glibc sizes readdir buffers by a directory's block size, and
        // the kernel allocates a FUSE reply buffer of that size for every directory it lists.
        status.st_blksize = attributes.isDirectory ? 4096 : 1 << 20
        let time = timespec(tv_sec: Int(attributes.modificationTime.seconds), tv_nsec: Int(attributes.modificationTime.nanoseconds))
        status.st_mtim = time
        status.st_ctim = time
        status.st_atim = time
        return status
    }

    func fileSystemStatus() -> statvfs {
        var status = statvfs()
        status.f_bsize = 4096
        status.f_frsize = 4096
        status.f_blocks = UInt((fileSystem.totalTensorBytes + 4095) / 4096)
        status.f_files = UInt(clamping: fileSystem.inodeCount)
        status.f_namemax = 255
        status.f_flag = UInt(ST_RDONLY)
        return status
    }

    func readDirectory(_ request: fuse_req_t?, inode: fuse_ino_t, size: Int, offset: off_t, plus: Bool) {
        trace("readdir\(plus ? "plus" : "") \(inode) offset \(offset)")
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: max(size, 1)) { buffer in
            var used = 0
            let isDirectory = fileSystem.listDirectory(InodeNumber(inode), from: Int(offset)) { entry in
                let remaining = buffer.count - used
                let written = (entry.name + [0]).withUnsafeBufferPointer { cName -> Int in
                    let name = UnsafeRawPointer(cName.baseAddress!).assumingMemoryBound(to: CChar.self)
                    if plus {
                        var parameters = fuse_entry_param()
                        parameters.ino = entry.attributes.inode.rawValue
                        parameters.generation = 1
                        parameters.attr = stat(entry.attributes)
                        parameters.attr_timeout = FuseOperations.cacheTimeout
                        parameters.entry_timeout = FuseOperations.cacheTimeout
                        return fuse_add_direntry_plus(request, buffer.baseAddress! + used, remaining, name, &parameters, off_t(entry.nextPosition))
                    }
                    var status = stat(entry.attributes)
                    return fuse_add_direntry(request, buffer.baseAddress! + used, remaining, name, &status, off_t(entry.nextPosition))
                }
                guard written <= remaining else { return false }
                used += written
                return true
            }
            if isDirectory {
                fuse_reply_buf(request, buffer.baseAddress, used)
            } else {
                fuse_reply_err(request, ENOTDIR)
            }
        }
    }

    func read(_ request: fuse_req_t?, inode: fuse_ino_t, size: Int, offset: off_t, handle: UInt64) {
        trace("read \(inode) offset \(offset) size \(size)")
        let opened = FuseServer.openFile(handle: handle)
        do {
            let result = try fileSystem.withContents(of: InodeNumber(inode), opened: opened, offset: UInt64(offset), count: size) { pieces in
                replyData(request, pieces)
            }
            // The kernel copies straight from the mapping; if a source shrank underneath, that copy
            // fails here (EFAULT) and the kernel answers the reader with EIO.
            if result < 0 {
                reportFailedReply(-result, inode: inode, offset: offset, size: size, opened: opened)
            }
        } catch {
            log.write(.error, "read of inode \(inode) at \(offset) failed: \(error)")
            fuse_reply_err(request, EIO)
        }
    }

    /// The most pieces one reply points at: the kernel takes at most 1024 vectors in one
    /// `writev` (UIO_MAXIOV), and libfuse puts its reply header in one of them. A reply over the
    /// limit would fail before the kernel sees it, leaving the reader waiting forever.
    static let maximumReplyPieces = 1023

    /// Replies with `pieces` in order, pointing libfuse at their memory. A single piece goes
    /// through `fuse_reply_data`, which sends it without allocating; several need
    /// `fuse_reply_iov`, which allocates a small vector but still copies no data. More pieces
    /// than a reply may point at (a rank's many tiny slices) are first copied into one buffer,
    /// through the kernel, so that a source truncated meanwhile fails the copy, not the daemon.
    private func replyData(_ request: fuse_req_t?, _ pieces: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int32 {
        if pieces.count > Self.maximumReplyPieces {
            let total = pieces.reduce(0) { $0 + $1.count }
            return withUnsafeTemporaryAllocation(byteCount: total, alignment: 16) { buffer in
                do throws(OwnMemoryCopy.Failure) {
                    try OwnMemoryCopy.copy(Array(pieces), into: buffer)
                } catch {
                    log.write(.error, "read failed: \(total) bytes in \(pieces.count) pieces could not be gathered: \(error.errno)")
                    return fuse_reply_err(request, EIO)
                }
                return fuse_reply_buf(request, buffer.baseAddress, total)
            }
        }
        switch pieces.count {
        case 0:
            return fuse_reply_buf(request, nil, 0)
        case 1:
            let piece = fuse_buf(size: pieces[0].count, flags: fuse_buf_flags(rawValue: 0), mem: UnsafeMutableRawPointer(mutating: pieces[0].baseAddress), fd: -1, pos: 0)
            var vector = fuse_bufvec(count: 1, idx: 0, off: 0, buf: piece)
            return fuse_reply_data(request, &vector, FUSE_BUF_NO_SPLICE)
        default:
            return withUnsafeTemporaryAllocation(of: iovec.self, capacity: pieces.count) { vectors in
                for (index, piece) in pieces.enumerated() {
                    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: piece.baseAddress), iov_len: piece.count)
                }
                return fuse_reply_iov(request, vectors.baseAddress, Int32(pieces.count))
            }
        }
    }

    /// Logs a reply the kernel refused. ENOENT means the reader went away (interrupted); EFAULT
    /// means a source shrank between the size check and the kernel's copy: checking again names it.
    private func reportFailedReply(_ code: Int32, inode: fuse_ino_t, offset: off_t, size: Int, opened: OpenFile?) {
        if code == ENOENT {
            trace("read of inode \(inode) at \(offset): the reader went away")
            return
        }
        var cause = "a source file may have changed"
        do {
            try fileSystem.withContents(of: InodeNumber(inode), opened: opened, offset: UInt64(offset), count: size) { _ in }
        } catch {
            cause = "\(error)"
        }
        log.write(.error, "read of inode \(inode) at \(offset) failed: \(Errno(rawValue: code)); \(cause)")
    }

    func getExtendedAttribute(_ request: fuse_req_t?, inode: fuse_ino_t, name: String, size: Int) {
        trace("getxattr \(inode) \(name)")
        guard let attribute = fileSystem.extendedAttributes(of: InodeNumber(inode)).first(where: { $0.name == name }) else {
            fuse_reply_err(request, ENODATA)
            return
        }
        replyXattr(request, attribute.value, size: size)
    }

    func listExtendedAttributes(_ request: fuse_req_t?, inode: fuse_ino_t, size: Int) {
        trace("listxattr \(inode)")
        let names: [UInt8] = fileSystem.extendedAttributes(of: InodeNumber(inode)).flatMap { Array($0.name.utf8) + [0] }
        replyXattr(request, names, size: size)
    }

    /// Answers a size probe (`size` 0) with the length, else the bytes or ERANGE.
    private func replyXattr(_ request: fuse_req_t?, _ value: [UInt8], size: Int) {
        if size == 0 {
            fuse_reply_xattr(request, value.count)
        } else if size < value.count {
            fuse_reply_err(request, ERANGE)
        } else {
            _ = value.withUnsafeBytes { fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), value.count) }
        }
    }
}

/// Where a bridge's session stands, for `FuseServer.hasEnded`.
enum SessionState {
    /// Not started yet.
    case notStarted
    /// Running; libfuse tells whether it was told to exit.
    case running(LiveSession)
    /// Over, and destroyed.
    case ended
}

/// A libfuse session pointer, read by other threads only under `FuseServer.liveSession`'s lock.
struct LiveSession: @unchecked Sendable {
    let pointer: OpaquePointer
}
