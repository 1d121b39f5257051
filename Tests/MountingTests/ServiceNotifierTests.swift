@testable import Mounting
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ServiceNotifierTests {
    /// A datagram socket bound to `name` (in the abstract namespace when `abstract`), given to
    /// `body`; closed and removed afterwards.
    static func withListener(named name: String, abstract: Bool, _ body: (Int32) throws -> Void) rethrows {
        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = (abstract ? [0] : []) + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        #expect(bound == 0)
        defer { if !abstract { unlink(name) } }
        try body(listener)
    }

    @Test(arguments: [false, true])
    func notificationsReachTheSocketInNotifySocket(abstract: Bool) throws {
        let name = "/tmp/tensorfs-notify-test-\(getpid())-\(abstract)"
        Self.withListener(named: name, abstract: abstract) { listener in
            setenv("NOTIFY_SOCKET", abstract ? "@" + name : name, 1)
            defer { unsetenv("NOTIFY_SOCKET") }
            ServiceNotifier.notify(["MAINPID=42", "READY=1"])

            var buffer = [UInt8](repeating: 0, count: 256)
            let count = recv(listener, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            #expect(count > 0)
            #expect(String(decoding: buffer[..<max(count, 0)], as: UTF8.self) == "MAINPID=42\nREADY=1")
        }
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let name = "/tmp/tensorfs-notify-test-\(getpid())-unset"
        Self.withListener(named: name, abstract: false) { listener in
            unsetenv("NOTIFY_SOCKET")
            ServiceNotifier.notify(["READY=1"])
            var buffer = [UInt8](repeating: 0, count: 256)
            #expect(recv(listener, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == -1, "the socket a service manager would listen on hears nothing")
        }
    }
}
