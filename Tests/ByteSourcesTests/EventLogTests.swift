import ByteSources
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct EventLogTests {
    @Test func aSyslogLineCarriesThePriorityTheNameAndTheProcess() {
        var descriptors: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &descriptors) == 0)
        defer { descriptors.forEach { close($0) } }
        let log = EventLog(descriptor: descriptors[0], level: .warning, format: .syslog(identifier: "tensorfs"))
        log.write(.info, "not written")
        log.write(.warning, "two\nlines")
        log.write(.error, "failed")
        #expect(receive(descriptors[1]) == "<28>tensorfs[\(getpid())]: two lines")
        #expect(receive(descriptors[1]) == "<27>tensorfs[\(getpid())]: failed")
    }

    @Test func aTimestampedLineEndsWithANewline() {
        var descriptors: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &descriptors) == 0)
        defer { descriptors.forEach { close($0) } }
        EventLog(descriptor: descriptors[0], level: .info).write(.info, "mounted")
        let line = receive(descriptors[1])
        #expect(line.hasSuffix(" info: mounted\n") && line.count == "HH:MM:SS.mmm info: mounted\n".count)
    }

    private func receive(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
    }
}
