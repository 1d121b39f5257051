import ByteSources
import CFuse
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// FUSE passthrough (Linux 6.9+): a file whose bytes are one whole local file (a model of one
/// file's `model.safetensors`, a companion file) is handed to the kernel, which then reads and
/// maps it straight from that file, at the speed of the source's own page cache, and no read of
/// it reaches the daemon.
///
/// libfuse 3.14 predates the API (3.17 added it): it asks for nothing in INIT's second flags word
/// and sends backing id 0 in open replies. So the session's I/O goes through hooks
/// (`fuse_session_custom_io`): reading requests, they note the INIT request and whether the kernel
/// offers passthrough; writing replies, they amend INIT's (FUSE_INIT_EXT, FUSE_PASSTHROUGH in
/// `flags2`, `max_stack_depth` 2). Each local file is registered with the device once
/// (FUSE_DEV_IOC_BACKING_OPEN, which needs CAP_SYS_ADMIN) and let go at unmount; opens of its
/// files are answered with FOPEN_PASSTHROUGH and its id. When a step is refused for all files
/// (no offer, no privilege), the mount serves every file through the daemon, as before; when the
/// kernel refuses one file, that file. Either way the log says why in one line.
final class Passthrough: Sendable {
    /// Whether the user allows it (`--no-passthrough` does not).
    let isWanted: Bool
    private let log: EventLog
    /// The INIT request's id, while its reply is awaited; 0 before and after.
    private let initRequest = Atomic<UInt64>(0)
    private let kernelOffers = Atomic<Bool>(false)
    /// Whether the INIT reply asked for passthrough, and nothing has been refused since.
    private let isOn = Atomic<Bool>(false)
    /// Each local file met, with its backing id (nil: the kernel refused that file); nil once
    /// registration was refused for every file.
    private let backing = Mutex<[ObjectIdentifier: (file: MappedFile, id: Int32?)]?>([:])
    /// The session's device descriptor, once the hooks are installed.
    private let device = Atomic<Int32>(-1)

    init(isWanted: Bool, log: EventLog) {
        self.isWanted = isWanted
        self.log = log
    }

    /// Routes the I/O of `session`, just mounted, through the hooks; `bridge` is the session's
    /// user data, which libfuse hands to the hooks. Does nothing when passthrough is not wanted.
    func install(on session: OpaquePointer) {
        guard isWanted else { return log.write(.info, "passthrough off: --no-passthrough") }
        let descriptor = fuse_session_fd(session)
        var hooks = fuse_custom_io()
        hooks.read = { descriptor, buffer, length, userdata in
            let count = Glibc.read(descriptor, buffer, length)
            // Inspecting the bytes makes no call that could change errno, which libfuse reads.
            if count >= Passthrough.initRequestLength, let buffer, let userdata {
                FuseServer.fromUserData(userdata).passthrough.noteRequest(UnsafeRawBufferPointer(start: buffer, count: count))
            }
            return count
        }
        hooks.writev = { descriptor, vectors, count, userdata in
            if let vectors, let userdata, count >= 2 {
                FuseServer.fromUserData(userdata).passthrough.amendReply(UnsafeMutableBufferPointer(start: vectors, count: Int(count)))
            }
            return Glibc.writev(descriptor, vectors, count)
        }
        guard fuse_session_custom_io(session, &hooks, descriptor) == 0 else {
            return log.write(.info, "passthrough off: libfuse refused the I/O hooks")
        }
        device.store(descriptor, ordering: .releasing)
    }

    /// The backing id of `file` for an open reply, registering the file the first time; nil
    /// when the file is to be served through the daemon.
    func backingID(for file: MappedFile) -> Int32? {
        guard isOn.load(ordering: .acquiring) else { return nil }
        return backing.withLock { (registered) -> Int32? in
            guard let known = registered else { return nil }
            if let entry = known[ObjectIdentifier(file)] { return entry.id }
            let id = cfuse_backing_open(device.load(ordering: .acquiring), file.descriptor.rawValue)
            guard id > 0 else {
                let reason = Errno.current
                if reason == .notPermitted {
                    registered = nil
                    isOn.store(false, ordering: .releasing)
                    log.write(.info, "passthrough off: the kernel refused to register \(file.displayName): \(reason) (it needs CAP_SYS_ADMIN); whole files are served through the daemon")
                } else {
                    // Refused for this file only: its filesystem is stacked too deep (ELOOP), say.
                    registered![ObjectIdentifier(file)] = (file, nil)
                    log.write(.info, "passthrough off for \(file.displayName): the kernel refused to register it: \(reason); it is served through the daemon")
                }
                return nil
            }
            registered![ObjectIdentifier(file)] = (file, id)
            return id
        }
    }

    /// Lets go of every registered file; call before the session's device is closed.
    func closeAll() {
        let device = device.load(ordering: .acquiring)
        backing.withLock { registered in
            for (_, entry) in registered ?? [:] {
                if let id = entry.id { _ = cfuse_backing_close(device, id) }
            }
            registered = [:]
        }
    }

    // MARK: The hooks

    /// `fuse_in_header` (40 bytes) and `fuse_init_in` up to its `flags2` (20 bytes).
    static let initRequestLength = 60
    private static let initOpcode: UInt32 = 26
    /// FUSE_INIT_EXT in `flags`: `flags2` is meaningful.
    private static let initExtension: UInt32 = 1 << 30
    /// FUSE_PASSTHROUGH, bit 37 of the flags: bit 5 of `flags2`.
    private static let passthroughFlag: UInt32 = 1 << 5
    /// How deep the backing files' filesystems may be stacked, plus one. 2, the kernel's most,
    /// admits sources on overlayfs (a container's root, say); the price is that the mount itself
    /// cannot be a layer of an overlayfs.
    private static let maxStackDepth: UInt32 = 2

    /// Notes the INIT request in `request` (a whole request as read from the device), and
    /// whether the kernel offers passthrough in it.
    private func noteRequest(_ request: UnsafeRawBufferPointer) {
        guard request.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == Self.initOpcode else { return }
        let flags = request.loadUnaligned(fromByteOffset: 52, as: UInt32.self)
        let flags2 = request.loadUnaligned(fromByteOffset: 56, as: UInt32.self)
        kernelOffers.store(flags & Self.initExtension != 0 && flags2 & Self.passthroughFlag != 0, ordering: .releasing)
        initRequest.store(request.loadUnaligned(fromByteOffset: 8, as: UInt64.self), ordering: .releasing)
    }

    /// Amends the INIT reply among `vectors` (a reply's header, then its body) to ask for
    /// passthrough, when the kernel offers it.
    private func amendReply(_ vectors: UnsafeMutableBufferPointer<iovec>) {
        let pending = initRequest.load(ordering: .acquiring)
        guard pending != 0, vectors[0].iov_len >= 16, let header = vectors[0].iov_base,
              header.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == pending else { return }
        initRequest.store(0, ordering: .releasing)
        // `fuse_init_out` up to `max_stack_depth` (at byte 36): 40 bytes.
        guard header.loadUnaligned(fromByteOffset: 4, as: Int32.self) == 0, vectors[1].iov_len >= 40, let reply = vectors[1].iov_base else { return }
        guard kernelOffers.load(ordering: .acquiring) else {
            return log.write(.info, "passthrough off: the kernel does not offer it (Linux 6.9 or later does)")
        }
        reply.storeBytes(of: reply.loadUnaligned(fromByteOffset: 12, as: UInt32.self) | Self.initExtension, toByteOffset: 12, as: UInt32.self)
        reply.storeBytes(of: reply.loadUnaligned(fromByteOffset: 32, as: UInt32.self) | Self.passthroughFlag, toByteOffset: 32, as: UInt32.self)
        reply.storeBytes(of: Self.maxStackDepth, toByteOffset: 36, as: UInt32.self)
        isOn.store(true, ordering: .releasing)
        log.write(.info, "passthrough on: whole local files are read by the kernel itself")
    }
}
