import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What the symbolic link at `path` points to (`readlink`).
public func symbolicLinkTarget(_ path: String) throws(Errno) -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = try systemCall { readlink(path, &buffer, buffer.count - 1) }
    return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The current directory, absolute; nil when it cannot be found (it was removed, say).
public func currentDirectory() -> String? {
    guard let path = getcwd(nil, 0) else { return nil }
    defer { free(path) }
    return String(cString: path)
}

/// `path` made absolute against the current directory; URLs (`scheme://...`) and absolute
/// paths are returned as they are.
public func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") || path.contains("://") { return path }
    guard let directory = currentDirectory() else { return path }
    return directory == "/" ? "/" + path : directory + "/" + path
}
