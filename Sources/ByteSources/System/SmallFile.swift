import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Small files tensorfs reads whole (a Hugging Face ref, a token, a rules file): opened without
/// blocking and checked after the open, so that a FIFO or a device put in their place fails
/// at once instead of hanging, and a huge file is refused instead of read.
public enum SmallFile {
    /// Why a small file could not be read.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The open or a read failed.
        case system(Errno)
        /// Something other than a regular file is there.
        case notARegularFile
        /// The file is larger than the limit.
        case tooLarge(size: Int64, limit: Int)

        public var description: String {
            switch self {
            case .system(let code): code.description
            case .notARegularFile: "not a regular file"
            case .tooLarge(let size, let limit): "\(size) bytes, more than the \(limit) allowed"
            }
        }
    }

    /// The bytes of the file at `path` (relative to `directory` if given, without following a
    /// symbolic link there), at most `limit` of them.
    public static func read(_ path: String, in directory: OpenDirectory? = nil, limit: Int = 1 << 20) throws(Failure) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            if let directory {
                descriptor = try directory.openFile(named: path)
            } else {
                descriptor = FileDescriptor(rawValue: try systemCall { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) })
            }
        } catch {
            throw .system(error)
        }
        defer { try? descriptor.close() }
        let status: Stat
        do {
            status = try descriptor.stat()
        } catch {
            throw .system(error)
        }
        guard status.type == .regular else { throw .notARegularFile }
        guard status.size <= Int64(limit) else { throw .tooLarge(size: status.size, limit: limit) }
        do {
            return try descriptor.readToEnd(limit: Int(status.size))
        } catch {
            throw .system(error)
        }
    }
}
