import ByteSources
import SystemPackage
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
            do {
                try systemCall { umount2(absolute, lazy ? Int32(MNT_DETACH) : 0) }
                return
            } catch {
                // A dead daemon's mount may still refuse a plain unmount; detaching always works.
                if !lazy && error != .resourceBusy && (try? systemCall { umount2(absolute, Int32(MNT_DETACH)) }) != nil { return }
                throw MountError(description: "\(mountpoint): cannot unmount: \(error)\(error == .resourceBusy ? " (files are open; use --lazy to detach anyway)" : "")")
            }
        }
        guard let fusermount = MountPreflight.findInPath("fusermount3") else {
            throw MountError(description: "fusermount3 not found: install fuse3 (apt-get install fuse3)")
        }
        let ending = try? ChildProcess.spawn(fusermount, ["-u"] + (lazy ? ["-z"] : []) + [absolute]).wait()
        if ending == .exited(0) { return }
        throw MountError(description: "\(mountpoint): fusermount3 -u failed (files may be open; use --lazy to detach anyway)")
    }
}
