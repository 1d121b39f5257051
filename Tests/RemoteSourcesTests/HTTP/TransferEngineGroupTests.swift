@testable import RemoteSources
import SafetensorsFormat
import Testing

@Suite struct TransferEngineGroupTests {
    private func exchange(_ start: UInt64, ended: LockedValue<[UInt64]>) -> Exchange {
        let request = HTTPRequest(url: "http://h.example/m", range: ByteRange(start: start, end: start + 10))
        return Exchange(request: request, sink: .collect(limit: 10), deadline: .max) { _ in
            ended.value.append(start)
        }
    }

    @Test func eachExchangeGoesToTheMemberWithTheFewestInFlight() {
        let server = ScriptedTransport { .partial(of: patternBytes(100), for: $0) }
        let members = (0..<2).map { _ in HoldingTransport(server) { _ in true } }
        let group = TransferEngineGroup(members)
        let ended = LockedValue<[UInt64]>([])
        for start: UInt64 in [0, 10, 20] { group.send(exchange(start, ended: ended), afterMilliseconds: 0) }
        #expect(members.map { $0.heldRanges.map(\.start) } == [[0, 20], [10]])
        members[1].release { _ in true }
        group.send(exchange(30, ended: ended), afterMilliseconds: 0)
        #expect(members[1].heldRanges.map(\.start) == [30], "the member whose exchange ended takes the next")
        members.forEach { $0.release { _ in true } }
        #expect(ended.value.sorted() == [0, 10, 20, 30], "every completion reaches its caller")
    }
}
