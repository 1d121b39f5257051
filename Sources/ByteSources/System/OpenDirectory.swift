import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// An open directory through which entries are opened, examined, listed, made and removed by
/// name (`openat` and its kin), never following a symbolic link in the last component: a name
/// that someone swaps for a link between a check and a use cannot lead outside the directory.
/// Checks belong after the open, on the descriptor (`FileDescriptor.stat()`), not before it.
public final class OpenDirectory: Sendable {
    /// The directory's descriptor, closed when the value goes away.
    public let descriptor: FileDescriptor

    private init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    deinit { try? descriptor.close() }

    /// Opens the directory at `path`; with `followingSymlink` false, a symbolic link there is
    /// refused (ELOOP) rather than followed. Links in the components before the last are the
    /// user's choice and are followed.
    public static func open(_ path: String, followingSymlink: Bool = true) throws(Errno) -> OpenDirectory {
        let options: FileDescriptor.OpenOptions = followingSymlink ? [.directory, .closeOnExec] : [.directory, .closeOnExec, .noFollow]
        let descriptor = try systemCall { Glibc.open(path, O_RDONLY | options.rawValue) }
        return OpenDirectory(descriptor: FileDescriptor(rawValue: descriptor))
    }

    /// The directory `name` inside this one; through a symbolic link only with `followingSymlink`.
    public func openDirectory(named name: String, followingSymlink: Bool = false) throws(Errno) -> OpenDirectory {
        try Self.checkEntryName(name)
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followingSymlink ? 0 : O_NOFOLLOW)
        let descriptor = try systemCall { openat(self.descriptor.rawValue, name, flags) }
        return OpenDirectory(descriptor: FileDescriptor(rawValue: descriptor))
    }

    /// Opens the entry `name`, never through a symbolic link (ELOOP). Reads open non-blocking,
    /// so that a FIFO put there fails the caller's type check instead of waiting for a writer.
    public func openFile(
        named name: String, _ mode: FileDescriptor.AccessMode = .readOnly,
        options: FileDescriptor.OpenOptions = [], permissions: FilePermissions = [.ownerReadWrite]
    ) throws(Errno) -> FileDescriptor {
        try Self.checkEntryName(name)
        var flags = mode.rawValue | options.rawValue | O_NOFOLLOW | O_CLOEXEC
        if mode == .readOnly { flags |= O_NONBLOCK }
        let descriptor = try systemCall { openat(self.descriptor.rawValue, name, flags, permissions.rawValue) }
        return FileDescriptor(rawValue: descriptor)
    }

    /// What the entry `name` is: the symbolic link itself unless `followingSymlink` (`lstat`
    /// or `stat`).
    public func status(of name: String, followingSymlink: Bool = false) throws(Errno) -> Stat {
        try Self.checkEntryName(name)
        return try FilePath(name).stat(relativeTo: descriptor, flags: followingSymlink ? [] : .symlinkNoFollow)
    }

    /// What the directory itself is.
    public func status() throws(Errno) -> Stat {
        try descriptor.stat()
    }

    /// The names of the entries other than `.` and `..`, sorted by their bytes.
    public func entryNames() throws(Errno) -> [String] {
        let copy = try systemCall { dup(descriptor.rawValue) }
        guard let stream = fdopendir(copy) else {
            let code = Errno.current
            close(copy)
            throw code
        }
        defer { closedir(stream) }
        // fdopendir shares the offset of the original descriptor: start from the beginning.
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Makes the directory `name` with `permissions` (less the umask); EEXIST when it exists.
    public func makeDirectory(named name: String, permissions: FilePermissions) throws(Errno) {
        try Self.checkEntryName(name)
        try systemCall { mkdirat(descriptor.rawValue, name, permissions.rawValue) }
    }

    /// Removes the entry `name` (a file, or a link itself, never what it points to).
    public func removeFile(named name: String) throws(Errno) {
        try Self.checkEntryName(name)
        try systemCall { unlinkat(descriptor.rawValue, name, 0) }
    }

    /// Removes the empty directory `name`.
    public func removeDirectory(named name: String) throws(Errno) {
        try Self.checkEntryName(name)
        try systemCall { unlinkat(descriptor.rawValue, name, AT_REMOVEDIR) }
    }

    /// Renames the entry `name` to `newName`, both in this directory, replacing what was there.
    public func rename(_ name: String, to newName: String) throws(Errno) {
        try Self.checkEntryName(name)
        try Self.checkEntryName(newName)
        try systemCall { renameat(descriptor.rawValue, name, descriptor.rawValue, newName) }
    }

    /// A name of one entry: not empty, `.` or `..`, and without `/`.
    private static func checkEntryName(_ name: String) throws(Errno) {
        if name.isEmpty || name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) { throw .invalidArgument }
    }
}

extension FileDescriptor {
    /// Where the open file is, as the kernel resolved it when it was opened (symbolic links
    /// followed): checking this after the open, unlike checking a path before it, cannot be
    /// raced. Nil when `/proc` cannot say.
    public func openedPath() -> String? {
        try? symbolicLinkTarget("/proc/self/fd/\(rawValue)")
    }
}
