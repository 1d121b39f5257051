import ByteSources
import SystemPackage

/// The kernel's read-ahead for one mount, which sets how large the read requests of sequential
/// readers are (`/sys/class/bdi/MAJOR:MINOR/read_ahead_kb`). The kernel lowers it to what the
/// INIT reply allows while it handles that reply, so it is raised only once the mount answers.
/// Only root may write it; otherwise the kernel's default (128 KiB) stays.
enum KernelReadAhead {
    /// Sets the read-ahead of the mount at `mountpoint` to `kibibytes`, logging the outcome.
    static func set(_ kibibytes: Int, mountpoint: String, log: EventLog) {
        guard let device = MountTable.entry(at: mountpoint)?.device else {
            log.write(.info, "read-ahead unchanged: \(mountpoint) not found in /proc/self/mountinfo")
            return
        }
        let path = "/sys/class/bdi/\(device)/read_ahead_kb"
        do {
            let file = try FileDescriptor.open(path, .writeOnly, options: [.closeOnExec])
            defer { try? file.close() }
            _ = try file.writeAll("\(kibibytes)\n".utf8)
            log.write(.info, "read-ahead set to \(kibibytes) KiB on \(path)")
        } catch {
            log.write(.info, "read-ahead unchanged: cannot write \(path): \(error)")
        }
    }
}
