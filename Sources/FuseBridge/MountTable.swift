import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Reads `/proc/self/mountinfo` to learn about mounts without touching them (a `stat` on a
/// FUSE mount would wait for its daemon).
public enum MountTable {
    /// One line of the table.
    public struct Entry: Sendable {
        /// `major:minor` of the mounted device.
        public var device: String
        /// Where it is mounted.
        public var mountpoint: String
        /// The filesystem type, e.g. `fuse.tensorfs`.
        public var type: String
    }

    /// Every mount visible to this process.
    public static func entries() -> [Entry] {
        guard let table = try? FileDescriptor.open("/proc/self/mountinfo", .readOnly, options: [.closeOnExec]) else { return [] }
        defer { try? table.close() }
        guard let bytes = try? table.readToEnd(limit: 64 << 20) else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count >= 9, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count else { return nil }
            return Entry(device: fields[2], mountpoint: unescape(fields[4]), type: fields[separator + 1])
        }
    }

    /// The mount at exactly `path` (an absolute path without symlinks), if any.
    public static func entry(at path: String) -> Entry? {
        entries().last { $0.mountpoint == path }
    }

    /// The absolute path of `path` with every symlink resolved, the last one included, without
    /// looking inside the directory it names: a `stat` there would wait on a hung daemon, so the
    /// parent is resolved with `realpath` and the last component with `readlink` alone (a path
    /// ending in `.` or `..` is resolved whole).
    public static func realpathWithoutTouchingMount(_ path: String) -> String {
        var current = path
        let mountpoints = Set(entries().map(\.mountpoint))
        // As many links as the kernel follows before it gives up with ELOOP.
        for _ in 0..<40 {
            let (parent, resolved) = resolvingParent(of: current)
            guard !mountpoints.contains(resolved), let target = try? symbolicLinkTarget(resolved) else { return resolved }
            current = target.hasPrefix("/") ? target : (parent == "/" ? "/" : parent + "/") + target
        }
        return current
    }

    /// The resolved parent directory of `path`, and `path` below it.
    private static func resolvingParent(of path: String) -> (parent: String, path: String) {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        let last = trimmed.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if last == "." || last == "..", let whole = realpath(trimmed, nil) {
            // `.` and `..` name no entry of their own: resolve them whole (no symlink is left
            // to follow, so the parent is not needed).
            defer { free(whole) }
            let resolved = String(cString: whole)
            return (resolved, resolved)
        }
        guard let slash = trimmed.lastIndex(of: "/") else {
            let directory = currentDirectory() ?? "."
            return (directory, directory == "/" ? "/" + trimmed : directory + "/" + trimmed)
        }
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        let name = String(trimmed[trimmed.index(after: slash)...])
        guard let resolved = realpath(parent, nil) else { return (parent, trimmed) }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return (base, base == "/" ? "/" + name : base + "/" + name)
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    private static func unescape(_ field: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(field.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "\\"), iterator.count >= 3,
               let value = UInt8(String(decoding: iterator.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                iterator = iterator.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
