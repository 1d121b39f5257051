@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Synchronization
import Testing

/// RemoteObjectSource over a scripted server: reads through parts, the memory of failed ranges,
/// and what is pinned of an object whose server sends no validators.
@Suite struct RemoteObjectSourceTests {
    /// A server holding one object that tests may change, answering ranges with or without
    /// validators, and failing data requests on demand.
    final class Server: Sendable {
        let bytes: Mutex<[UInt8]>
        let validators: [String]
        let failing = Mutex(false)

        init(_ bytes: [UInt8], validators: [String] = ["ETag: \"v1\""]) {
            self.bytes = Mutex(bytes)
            self.validators = validators
        }

        func answer(_ request: HTTPRequest) -> ScriptedTransport.Answer {
            if failing.withLock({ $0 }) { return ScriptedTransport.Answer(status: 404) }
            return .partial(of: bytes.withLock { $0 }, for: request, headers: validators)
        }
    }

    private func open(_ server: Server) throws -> (source: RemoteObjectSource, context: RemoteContext, transport: ScriptedTransport) {
        let transport = ScriptedTransport { server.answer($0) }
        let (source, context) = try openScriptedObject(over: transport, partSize: 64 << 10, randomReadSize: 64 << 10, memoryBudget: 1 << 20)
        return (try #require(source as? RemoteObjectSource), context, transport)
    }

    @Test func readsComeThroughThePartsByteForByte() throws {
        let object = patternBytes(300_000)
        let (source, context, transport) = try open(Server(object))
        #expect(source.size == 300_000 && context.warnings.isEmpty)
        #expect(try copiedBytes(source, ByteRange(start: 1000, end: 200_000)) == Array(object[1000..<200_000]))
        #expect(try source.copyBytes(in: ByteRange(start: 10, end: 20)) == Array(object[10..<20]))
        #expect(transport.sent.allSatisfy { $0.request.range!.count <= 64 << 10 || $0.request.range!.start == 0 })
    }

    @Test func aFailedRangeFailsAgainAtOnceWithoutAskingTheServer() throws {
        let server = Server(patternBytes(300_000))
        let (source, _, transport) = try open(server)
        server.failing.withLock { $0 = true }
        #expect(throws: ByteSourceError.self) { try copiedBytes(source, ByteRange(start: 100_000, end: 100_100)) }
        let asked = transport.sent.count
        server.failing.withLock { $0 = false }
        let error = #expect(throws: ByteSourceError.self) { try copiedBytes(source, ByteRange(start: 100_050, end: 100_060)) }
        #expect(error?.description.contains("404") == true)
        #expect(transport.sent.count == asked)
    }

    @Test func withoutValidatorsTheMountWarnsAndAChangeOfTheFirstBytesFailsReads() throws {
        let object = patternBytes(300_000)
        let server = Server(object, validators: [])
        let (source, context, _) = try open(server)
        #expect(context.warnings.count == 1)
        #expect(context.warnings.first?.contains("http://h.example/m.safetensors: the server sends neither ETag nor Last-Modified") == true)
        server.bytes.withLock { $0[100] ^= 0xFF }
        let error = #expect(throws: ByteSourceError.self) { try copiedBytes(source, ByteRange(start: 50, end: 5000)) }
        #expect(error?.description.contains("changed while mounted") == true)
        let later = #expect(throws: ByteSourceError.self) { try copiedBytes(source, ByteRange(start: 200_000, end: 200_100)) }
        #expect(later?.description.contains("changed while mounted") == true, "a change is remembered")
    }

    @Test func withoutValidatorsTheSizeIsPinnedToo() throws {
        let server = Server(patternBytes(300_000), validators: [])
        let (source, _, _) = try open(server)
        server.bytes.withLock { $0 += [0] }
        let error = #expect(throws: ByteSourceError.self) { try copiedBytes(source, ByteRange(start: 200_000, end: 200_100)) }
        #expect(error?.description.contains("300001") == true)
    }
}
