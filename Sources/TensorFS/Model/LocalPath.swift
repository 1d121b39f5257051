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

    enum Kind { case file, directory, other, missing }

    /// What is at `path`, following symlinks.
    static func kind(of path: String) -> (Kind, errno: Int32) {
        var status = stat()
        guard stat(path, &status) == 0 else { return (.missing, errno) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return (.file, 0)
        case S_IFDIR: return (.directory, 0)
        default: return (.other, 0)
        }
    }

    /// The names in a directory, sorted by their bytes; nil with errno when it cannot be read.
    static func entries(of directory: String) -> Result<[String], ErrnoCode> {
        guard let stream = opendir(directory) else { return .failure(ErrnoCode(errno)) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
}

/// The names in a local directory other than `.` and `..`, sorted by their bytes; empty when
/// it cannot be read.
public func localDirectoryEntries(_ directory: String) -> [String] {
    (try? LocalPath.entries(of: directory).get()) ?? []
}

/// An errno value carried as an error.
struct ErrnoCode: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
}
