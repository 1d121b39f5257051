import SafetensorsFormat
import SystemPackage

/// Why bytes could not be had from a source.
public struct ByteSourceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The source as users know it.
    public var source: String
    /// What went wrong.
    public var reason: Reason

    /// Creates an error about `source`.
    public init(source: String, reason: Reason) {
        self.source = source
        self.reason = reason
    }

    /// What went wrong reading a source.
    public enum Reason: Hashable, Sendable, CustomStringConvertible {
        /// A system call failed.
        case system(call: String, Errno)
        /// The path names a FIFO, a device or a socket rather than a file.
        case notARegularFile
        /// The request reaches past the end of the source.
        case outOfRange(ByteRange, size: UInt64)
        /// The source changed since it was opened (truncated, or a different remote version).
        case changed(detail: String)
        /// A remote request failed.
        case remote(detail: String)

        public var description: String {
            switch self {
            case .system(let call, let code): "\(call) failed: \(code)"
            case .notARegularFile: "not a regular file"
            case .outOfRange(let range, let size): "bytes \(range) lie past the end (size \(size))"
            case .changed(let detail): "changed while mounted: \(detail)"
            case .remote(let detail): detail
            }
        }
    }

    public var description: String { "\(source): \(reason)" }
}
