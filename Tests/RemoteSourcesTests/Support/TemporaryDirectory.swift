#if canImport(Glibc)
import Glibc
#endif

/// A directory under /tmp for one test, removed with everything in it when the test ends.
final class TemporaryDirectory {
    /// Its path.
    let path: String

    init() {
        var template = Array("/tmp/tensorfs-remote-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { removeTree(path) }

    /// Writes `bytes` to `name` in the directory; returns the file's path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) -> String {
        let file = path + "/" + name
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "cannot create \(file)")
        bytes.withUnsafeBytes { precondition(Glibc.write(descriptor, $0.baseAddress, $0.count) == $0.count) }
        close(descriptor)
        return file
    }

    /// The contents of the file at `file`.
    func read(_ file: String) -> [UInt8] {
        let descriptor = open(file, O_RDONLY)
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = chunk.withUnsafeMutableBytes({ Glibc.read(descriptor, $0.baseAddress, $0.count) }), count > 0 {
            bytes += chunk[..<count]
        }
        return bytes
    }

    private func removeTree(_ directory: String) {
        guard let stream = opendir(directory) else { return }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            guard name != "." && name != ".." else { continue }
            let child = directory + "/" + name
            if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else { unlink(child) }
        }
        closedir(stream)
        rmdir(directory)
    }
}
