import CFuse
import SafetensorsFormat
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// The libfuse low-level callbacks: each converts its arguments, asks the `TensorFileSystem`,
/// and replies. Nothing here decides what the filesystem contains.
enum FuseOperations {
    /// Entries and attributes never change while mounted, so the kernel may cache them for long.
    static let cacheTimeout: Double = 365 * 24 * 3600

    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, connection in
            guard let userdata, let connection else { return }
            Unmanaged<FuseServer>.fromOpaque(userdata).takeUnretainedValue().configure(connection)
        }
        ops.lookup = { request, parent, name in
            let bridge = FuseServer.of(request)
            let length = strlen(name!)
            let found = bridge.fileSystem.lookup(UnsafeRawBufferPointer(start: name, count: length), in: InodeNumber(parent))
            bridge.trace("lookup \(parent)/\(String(cString: name!)) -> \(found.map(String.init(describing:)) ?? "ENOENT")")
            var entry = fuse_entry_param()
            entry.entry_timeout = FuseOperations.cacheTimeout
            entry.attr_timeout = FuseOperations.cacheTimeout
            // An inode of 0 with a timeout is a cached "no such entry".
            if let found, let attributes = bridge.fileSystem.attributes(of: found) {
                entry.ino = found.rawValue
                entry.generation = 1
                entry.attr = bridge.stat(attributes)
            }
            fuse_reply_entry(request, &entry)
        }
        // The kernel counts the lookups it holds on each inode (lookup, readdirplus and create
        // replies add one) and returns them with forget. A filesystem that frees inodes must keep
        // those counts; here every inode is a fixed index into the immutable namespace, valid
        // until unmount, so there is nothing to count or free and forgets only need their
        // (empty) reply.
        ops.forget = { request, _, _ in fuse_reply_none(request) }
        ops.forget_multi = { request, _, _ in fuse_reply_none(request) }
        ops.getattr = { request, inode, _ in
            let bridge = FuseServer.of(request)
            bridge.trace("getattr \(inode)")
            guard let attributes = bridge.fileSystem.attributes(of: InodeNumber(inode)) else {
                fuse_reply_err(request, ENOENT)
                return
            }
            var status = bridge.stat(attributes)
            fuse_reply_attr(request, &status, FuseOperations.cacheTimeout)
        }
        ops.opendir = { request, inode, info in
            let bridge = FuseServer.of(request)
            bridge.trace("opendir \(inode)")
            if bridge.directoriesOpenWithoutRequests.load(ordering: .acquiring) {
                fuse_reply_err(request, ENOSYS)
                return
            }
            guard let attributes = bridge.fileSystem.attributes(of: InodeNumber(inode)), attributes.isDirectory else {
                fuse_reply_err(request, ENOTDIR)
                return
            }
            info!.pointee.keep_cache = 1
            info!.pointee.cache_readdir = 1
            fuse_reply_open(request, info)
        }
        ops.readdir = { request, inode, size, offset, _ in
            FuseServer.of(request).readDirectory(request, inode: inode, size: size, offset: offset, plus: false)
        }
        ops.readdirplus = { request, inode, size, offset, _ in
            FuseServer.of(request).readDirectory(request, inode: inode, size: size, offset: offset, plus: true)
        }
        ops.releasedir = { request, _, _ in fuse_reply_err(request, 0) }
        ops.open = { request, inode, info in
            let bridge = FuseServer.of(request)
            bridge.trace("open \(inode)")
            guard let info else { return }
            if info.pointee.flags & O_ACCMODE != O_RDONLY {
                fuse_reply_err(request, EROFS)
                return
            }
            guard let attributes = bridge.fileSystem.attributes(of: InodeNumber(inode)), !attributes.isDirectory else {
                fuse_reply_err(request, EISDIR)
                return
            }
            if let opened = bridge.fileSystem.open(InodeNumber(inode)) {
                info.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(opened).toOpaque()))
            }
            // A whole local file is read by the kernel itself. (The page cache is then the
            // source's own: asking to keep the mount's would fail the open.)
            if let file = bridge.fileSystem.wholeLocalFile(of: InodeNumber(inode)), let backing = bridge.passthrough.backingID(for: file) {
                cfuse_reply_open_passthrough(request, info.pointee.fh, backing)
                return
            }
            // The files never change while mounted: keep the page cache across opens.
            info.pointee.keep_cache = 1
            info.pointee.noflush = 1
            fuse_reply_open(request, info)
        }
        ops.read = { request, inode, size, offset, info in
            FuseServer.of(request).read(request, inode: inode, size: size, offset: offset, handle: info?.pointee.fh ?? 0)
        }
        ops.release = { request, _, info in
            if let opened = FuseServer.openFile(handle: info?.pointee.fh ?? 0) {
                FuseServer.of(request).fileSystem.release(opened)
                Unmanaged.passUnretained(opened).release()
            }
            fuse_reply_err(request, 0)
        }
        ops.statfs = { request, _ in
            var status = FuseServer.of(request).fileSystemStatus()
            fuse_reply_statfs(request, &status)
        }
        ops.getxattr = { request, inode, name, size in
            FuseServer.of(request).getExtendedAttribute(request, inode: inode, name: String(cString: name!), size: size)
        }
        ops.listxattr = { request, inode, size in
            FuseServer.of(request).listExtendedAttributes(request, inode: inode, size: size)
        }
        installReadOnlyRefusals(&ops)
        return ops
    }

    /// Every call that would change something answers EROFS.
    private static func installReadOnlyRefusals(_ ops: inout fuse_lowlevel_ops) {
        ops.setattr = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.mknod = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.mkdir = { request, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.unlink = { request, _, _ in fuse_reply_err(request, EROFS) }
        ops.rmdir = { request, _, _ in fuse_reply_err(request, EROFS) }
        ops.symlink = { request, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.rename = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.link = { request, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.write = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.write_buf = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.create = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.setxattr = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.removexattr = { request, _, _ in fuse_reply_err(request, EROFS) }
        ops.fallocate = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
        ops.copy_file_range = { request, _, _, _, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
    }
}
