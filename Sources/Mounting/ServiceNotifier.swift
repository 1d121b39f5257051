import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how a service is doing (sd_notify), when it runs under a unit that listens:
/// systemd passes the socket in `$NOTIFY_SOCKET` (`Type=notify`). Written by hand: a datagram
/// of `KEY=VALUE` lines needs no library.
public enum ServiceNotifier {
    /// Sends `assignments` (`READY=1`, `MAINPID=N`, `STOPPING=1`), if anyone listens.
    public static func notify(_ assignments: [String]) {
        guard let address = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !address.isEmpty,
              let socket = try? UnixSocket.connectedDatagramSocket(to: address) else { return }
        defer { try? socket.close() }
        try? UnixSocket.send(Array(assignments.joined(separator: "\n").utf8), on: socket)
    }
}
