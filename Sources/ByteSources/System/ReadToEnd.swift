import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension FileDescriptor {
    /// Reads from the current offset until the end (or until `limit` bytes were read), retrying
    /// interrupted reads.
    public func readToEnd(limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while bytes.count < limit {
            let count = try systemCall { chunk.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            bytes += chunk[..<min(count, limit - bytes.count)]
        }
        return bytes
    }
}
