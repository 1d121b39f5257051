import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The Unix-domain sockets a mount talks through: the channel between launcher and daemon (a
/// stream pair), and datagrams to the system log and to systemd.
enum UnixSocket {
    /// A connected pair of stream sockets, closed on exec.
    static func pair() throws(Errno) -> (FileDescriptor, FileDescriptor) {
        var descriptors: [Int32] = [-1, -1]
        try systemCall { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &descriptors) }
        return (FileDescriptor(rawValue: descriptors[0]), FileDescriptor(rawValue: descriptors[1]))
    }

    /// A datagram socket connected to `address`, a path or, starting with `@`, a name in the
    /// abstract namespace (as `$NOTIFY_SOCKET` may give).
    static func connectedDatagramSocket(to address: String) throws(Errno) -> FileDescriptor {
        var bytes = Array(address.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { throw .fileNameTooLong }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: bytes) }
        let descriptor = try systemCall { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (bytes[0] == 0 ? 0 : 1))
        do {
            try systemCall {
                withUnsafePointer(to: &socketAddress) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
                }
            }
        } catch {
            close(descriptor)
            throw error
        }
        return FileDescriptor(rawValue: descriptor)
    }

    /// Sends all of `bytes` on `socket`; a peer that went away fails with EPIPE, never SIGPIPE.
    static func send(_ bytes: [UInt8], on socket: FileDescriptor) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try systemCall {
                bytes[offset...].withUnsafeBytes { Glibc.send(socket.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }
}
