@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Synchronization
import Testing

/// The requests behind reads of a remote object: how many, how large and how many at once, for a
/// server slow per request and a fast one, for a stream and for random reads.
@Suite struct ReadaheadRequestsTests {
    private static let KiB: UInt64 = 1 << 10
    private let part = 64 * KiB
    private let budget: UInt64 = 2 << 20
    private let object = patternBytes(4 << 20)

    /// Answers with the object's bytes, as a server whose responses come after `waitMicroseconds`
    /// and whose bodies arrive at `bytesPerMicrosecond`.
    private func server(waitMicroseconds: UInt64, bytesPerMicrosecond: UInt64) -> ScriptedTransport {
        let object = object
        return ScriptedTransport { request in
            var answer = ScriptedTransport.Answer.partial(of: object, for: request)
            let bytes = UInt64(answer.body.count)
            answer.timing = TransferTiming(waitMicroseconds: waitMicroseconds, totalMicroseconds: waitMicroseconds + bytes / bytesPerMicrosecond + 1)
            return answer
        }
    }

    /// moto with a large object: a second per request, then 100 MB/s.
    private func slowPerRequest() -> ScriptedTransport { server(waitMicroseconds: 1_000_000, bytesPerMicrosecond: 100) }
    /// nginx on loopback: 20 µs, then 1 GB/s.
    private func fast() -> ScriptedTransport { server(waitMicroseconds: 20, bytesPerMicrosecond: 1000) }

    private func open(over transport: any Transport) throws -> any ByteSource {
        try openScriptedObject(over: transport, partSize: part, randomReadSize: 16 * Self.KiB, memoryBudget: budget).source
    }

    /// The ranges asked for after the mount's probe.
    private func dataRequests(_ transport: ScriptedTransport) -> [ByteRange] {
        transport.sent.dropFirst().compactMap(\.request.range)
    }

    /// Reads the whole object from its start in 16 KiB reads, `before` each one, and checks it.
    private func readSequentially(_ source: any ByteSource, before: (UInt64) -> Void = { _ in }) throws {
        for offset in stride(from: 0, to: UInt64(object.count), by: Int(16 * Self.KiB)) {
            before(offset)
            let range = ByteRange(start: offset, end: offset + 16 * Self.KiB)
            #expect(try copiedBytes(source, range) == Array(object[Int(range.start)..<Int(range.end)]))
        }
    }

    @Test func aServerSlowPerRequestGetsRunsOfPartsInOneRequest() throws {
        let transport = slowPerRequest()
        try readSequentially(try open(over: transport))
        let requests = dataRequests(transport)
        #expect(requests.allSatisfy { $0.count <= budget / 4 })
        #expect(requests.contains { $0.count == budget / 4 }, "requests grow to a quarter of the memory")
        #expect(requests.count <= 12, "\(requests.count) requests for 64 parts")
    }

    @Test func aFastServerGetsOneRequestPerPart() throws {
        let transport = fast()
        try readSequentially(try open(over: transport))
        let requests = dataRequests(transport)
        #expect(requests.allSatisfy { $0.count <= part })
        #expect(requests.reduce(0) { $0 + $1.count } == UInt64(object.count), "each byte is asked for once")
    }

    @Test func aStreamsFirstReadFetchesTheRestOfItsPartAtOnce() throws {
        let transport = fast()
        let source = try open(over: transport)
        for offset in stride(from: 0, to: part, by: Int(16 * Self.KiB)) {
            _ = try copiedBytes(source, ByteRange(start: offset, end: offset + 16 * Self.KiB))
        }
        let requests = dataRequests(transport)
        #expect(requests.first == ByteRange(start: 0, end: part))
        #expect(requests.dropFirst().allSatisfy { $0.start >= part }, "the part is not widened read by read")
    }

    @Test func randomReadsFetchOnlyTheBlocksAroundThemEvenFromASlowServer() throws {
        let transport = slowPerRequest()
        let source = try open(over: transport)
        for offset: UInt64 in [1_000_000, 3_000_000, 2_000_000, 500_000] {
            #expect(try copiedBytes(source, ByteRange(start: offset, end: offset + 100)) == Array(object[Int(offset)..<Int(offset) + 100]))
        }
        let requests = dataRequests(transport)
        #expect(requests.count == 4)
        #expect(requests.allSatisfy { $0.count == 16 * Self.KiB })
    }

    @Test(arguments: [false, true])
    func readAheadKeepsSeveralRequestsInFlightWithinHalfTheMemory(slowServer: Bool) throws {
        let reader = Mutex<UInt64>(0)
        // Requests for bytes past the reader stay in flight until it gets there.
        let transport = HoldingTransport(slowServer ? slowPerRequest() : fast()) { request in
            (request.range?.start ?? 0) > reader.withLock { $0 }
        }
        let source = try open(over: transport)
        var most: (count: Int, bytes: UInt64) = (0, 0)
        try readSequentially(source) { offset in
            reader.withLock { $0 = offset }
            transport.release { ($0.range?.start ?? 0) <= offset }
            let held = transport.heldRanges
            most = (max(most.count, held.count), max(most.bytes, held.reduce(0) { $0 + $1.count }))
        }
        #expect(most.bytes <= budget / 2)
        #expect(most.bytes >= budget / 4, "a window's worth is on its way")
        if !slowServer { #expect(most.count >= 4, "several part-sized requests at once") }
    }
}
