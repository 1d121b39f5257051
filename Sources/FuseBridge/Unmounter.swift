#if canImport(Glibc)
import Glibc
#endif

/// Unmounts a tensorfs mount, including a stale one whose daemon was killed.
public enum Unmounter {
    /// Unmounts `mountpoint`; with `lazy`, detaches it even while files are open.
    public static func unmount(_ mountpoint: String, lazy: Bool = false) throws(MountError) {
        let absolute = MountTable.realpathWithoutTouchingMount(mountpoint)
        guard let entry = MountTable.entry(at: absolute) else {
            throw MountError(description: "\(mountpoint): not mounted")
        }
        guard entry.type.hasPrefix("fuse") else {
            throw MountError(description: "\(mountpoint): not a FUSE mount (\(entry.type)); refusing to unmount it")
        }
        if getuid() == 0 {
            if umount2(absolute, lazy ? Int32(MNT_DETACH) : 0) == 0 { return }
            let code = errno
            // A dead daemon's mount may still refuse a plain unmount; detaching always works.
            if !lazy && code != EBUSY && umount2(absolute, Int32(MNT_DETACH)) == 0 { return }
            throw MountError(description: "\(mountpoint): cannot unmount: \(String(cString: strerror(code)))\(code == EBUSY ? " (files are open; use --lazy to detach anyway)" : "")")
        }
        guard let fusermount = MountPreflight.findInPath("fusermount3") else {
            throw MountError(description: "fusermount3 not found: install fuse3 (apt-get install fuse3)")
        }
        if run(fusermount, ["-u"] + (lazy ? ["-z"] : []) + [absolute]) == 0 { return }
        throw MountError(description: "\(mountpoint): fusermount3 -u failed (files may be open; use --lazy to detach anyway)")
    }

    private static func run(_ program: String, _ arguments: [String]) -> Int32 {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { word in word.withCString { strdup($0) } } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, program, nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}
