import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Small path helpers over plain strings, as the C library sees paths.
enum LocalPath {
    /// `directory/name`, without doubling a slash.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The last component, e.g. `b.safetensors` for `a/b.safetensors/`.
    static func lastComponent(_ path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? trimmed
    }

    /// Everything before the last component, or `.` for a bare name.
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The canonical absolute path with symlinks resolved, or nil when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    enum Kind { case file, directory, other }

    /// What is at `path`, following symlinks.
    static func kind(of path: String) throws(Errno) -> Kind {
        switch try FilePath(path).stat().type {
        case .regular: .file
        case .directory: .directory
        default: .other
        }
    }
}
