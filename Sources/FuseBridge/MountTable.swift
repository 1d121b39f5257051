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
        guard let file = fopen("/proc/self/mountinfo", "r") else { return [] }
        defer { fclose(file) }
        var entries: [Entry] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let fields = String(cString: line!).split(separator: " ")
            guard fields.count >= 9, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count else { continue }
            entries.append(Entry(device: String(fields[2]), mountpoint: unescape(String(fields[4])), type: String(fields[separator + 1])))
        }
        return entries
    }

    /// The mount at exactly `path` (an absolute path without symlinks), if any.
    public static func entry(at path: String) -> Entry? {
        entries().last { $0.mountpoint == path }
    }

    /// `major:minor` of the mount at `path`.
    static func device(of path: String) -> String? {
        let absolute = realpathWithoutTouchingMount(path)
        return entry(at: absolute)?.device
    }

    /// Resolves the parent directory (never the mountpoint itself, which may hang).
    public static func realpathWithoutTouchingMount(_ path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else {
            return currentDirectory() + "/" + trimmed
        }
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        let name = String(trimmed[trimmed.index(after: slash)...])
        guard let resolved = realpath(parent, nil) else { return trimmed }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return base == "/" ? "/" + name : base + "/" + name
    }

    private static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
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
