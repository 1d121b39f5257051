@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Synchronization
import Testing

/// A run of parts fetched with one request: each part goes out as soon as the body has passed
/// its end, and a request that breaks off or finds the object changed fails only what was not
/// out yet.
@Suite struct PartDeliveryTests {
    private let part: UInt64 = 64 << 10
    private let object = patternBytes(1 << 20)

    /// A transport that writes the first `pauseAfter` bytes of each body, tells, and holds the
    /// rest until `resume`.
    final class PausingTransport: Transport, Sendable {
        private let object: [UInt8]
        private let pauseAfter: Int
        private let paused = Mutex<[@Sendable () -> Void]>([])

        init(object: [UInt8], pauseAfter: Int) {
            self.object = object
            self.pauseAfter = pauseAfter
        }

        func send(_ exchange: Exchange, afterMilliseconds delay: UInt64) {
            let range = exchange.request.range!
            var head = ResponseHead()
            head.take(line: "HTTP/1.1 206 Partial Content\r\n")
            head.take(line: "Content-Range: bytes \(range.start)-\(range.end - 1)/\(object.count)\r\n")
            head.take(line: "ETag: \"v1\"\r\n")
            guard case .memory(let memory) = exchange.sink else { return }
            let body = Array(object[Int(range.start)..<Int(range.end)])
            let first = min(pauseAfter, body.count)
            body.withUnsafeBytes { memory.write(UnsafeRawBufferPointer(rebasing: $0[..<first]), at: 0) }
            exchange.onBody?(head, first)
            let finish: @Sendable () -> Void = { [head] in
                body.withUnsafeBytes { memory.write(UnsafeRawBufferPointer(rebasing: $0[first...]), at: first) }
                exchange.onBody?(head, body.count)
                exchange.completion(TransferResult(head: head, received: body.count, body: [], failure: nil))
            }
            paused.withLock { $0.append(finish) }
        }

        func resume() {
            let waiting = paused.withLock { paused in
                defer { paused = [] }
                return paused
            }
            waiting.forEach { $0() }
        }
    }

    private func context(over transport: any Transport) throws -> RemoteContext {
        var settings = RemoteSettings(environment: [:])
        settings.partSize = part
        settings.memoryBudget = 4 << 20
        return try RemoteContext(settings: settings, log: .disabled, transport: transport)
    }

    /// An endpoint that finds every answer to be of another object (a Hub file answered at
    /// another commit).
    final class ForeignAnswers: ObjectEndpoint {
        let inner: HTTPObjectEndpoint
        init(_ inner: HTTPObjectEndpoint) { self.inner = inner }
        var displayName: String { inner.displayName }
        var locationIdentity: String { inner.locationIdentity }
        func request(for range: ByteRange?, conditions: [String]) -> HTTPRequest { inner.request(for: range, conditions: conditions) }
        func follow(redirect head: ResponseHead) -> RedirectOutcome { inner.follow(redirect: head) }
        func returnToOriginalLocation() -> Bool { inner.returnToOriginalLocation() }
        func explain(_ result: TransferResult) -> String { inner.explain(result) }
        func mismatch(in head: ResponseHead) -> String? { "it was answered at another commit" }
    }

    private func fetcher(_ context: RemoteContext, foreignAnswers: Bool = false) throws -> PartFetcher {
        let plain = HTTPObjectEndpoint(url: try RemoteURL(parsing: "http://h.example/m.safetensors"), headers: [])
        let endpoint: any ObjectEndpoint = foreignAnswers ? ForeignAnswers(plain) : plain
        let version = ObjectVersion(size: UInt64(object.count), etag: "\"v1\"", lastModified: nil)
        let mounted = MountedObject(endpoint: endpoint, version: version, head: Array(object[..<4096]), partSize: part, log: .disabled)
        return PartFetcher(object: mounted, context: context, costs: RequestCostModel(limits: context.settings.readaheadLimits))
    }

    /// Claims parts `parts` of object 1 for fetching, whole.
    private func claim(_ parts: Range<UInt64>, in context: RemoteContext) throws -> [PartFill] {
        try parts.map { number in
            let key = PartKey(object: 1, part: number)
            let range = ByteRange(start: number * part, end: (number + 1) * part)
            let claimed = try #require(context.store.claim(key, need: range, target: range).fetch)
            return PartFill(key: key, pending: claimed.pending, target: claimed.target, existing: nil, need: range)
        }
    }

    private func bytes(of part: UInt64) -> [UInt8] {
        Array(object[Int(part * self.part)..<Int((part + 1) * self.part)])
    }

    @Test func aRunsFirstPartGoesOutBeforeTheRestOfItsRequestArrives() throws {
        let transport = PausingTransport(object: object, pauseAfter: Int(part) + 100)
        let context = try context(over: transport)
        try fetcher(context).fill(try claim(1..<5, in: context), inBackground: false)
        let first = try #require(context.store.claim(PartKey(object: 1, part: 1), need: ByteRange(start: part, end: 2 * part), target: ByteRange(start: part, end: 2 * part)).ready)
        #expect(Array(first.bytes) == bytes(of: 1))
        #expect(context.store.claim(PartKey(object: 1, part: 2), need: ByteRange(start: 2 * part, end: 3 * part), target: ByteRange(start: 2 * part, end: 3 * part)).waiting != nil)
        transport.resume()
        for number: UInt64 in 2..<5 {
            let range = ByteRange(start: number * part, end: (number + 1) * part)
            let fragment = try #require(context.store.claim(PartKey(object: 1, part: number), need: range, target: range).ready)
            #expect(Array(fragment.bytes) == bytes(of: number))
        }
    }

    @Test func nothingGoesOutOfAnAnswerTheEndpointFindsToBeOfAnotherObject() throws {
        let transport = PausingTransport(object: object, pauseAfter: Int(part) + 100)
        let context = try context(over: transport)
        try fetcher(context, foreignAnswers: true).fill(try claim(1..<3, in: context), inBackground: false)
        let first = ByteRange(start: part, end: 2 * part)
        #expect(context.store.claim(PartKey(object: 1, part: 1), need: first, target: first).waiting != nil, "the part waits for the end")
        transport.resume()
        let failure = try #require(context.store.claim(PartKey(object: 1, part: 1), need: first, target: first).failedWith)
        #expect(failure.description.contains("another commit"))
    }

    @Test func aRequestThatBreaksOffIsResumedAndWhatArrivedStaysOut() throws {
        let object = object
        let transport = ScriptedTransport { .partial(of: object, for: $0) }
        let part = part
        transport.script { .brokenOff(of: object, for: $0, after: Int(part) + 10) }
        let context = try context(over: transport)
        try fetcher(context).fill(try claim(1..<4, in: context), inBackground: false)
        #expect(transport.sent.map(\.request.range) == [ByteRange(start: part, end: 4 * part), ByteRange(start: 2 * part + 10, end: 4 * part)])
        for number: UInt64 in 1..<4 {
            let range = ByteRange(start: number * part, end: (number + 1) * part)
            let fragment = try #require(context.store.claim(PartKey(object: 1, part: number), need: range, target: range).ready)
            #expect(Array(fragment.bytes) == bytes(of: number))
        }
    }

    @Test func aChangeFoundOnResumingFailsOnlyThePartsNotOutYet() throws {
        let transport = ScriptedTransport()
        let object = object
        let part = part
        transport.script { .brokenOff(of: object, for: $0, after: Int(part)) }
        transport.script(ScriptedTransport.Answer(status: 412))
        let context = try context(over: transport)
        try fetcher(context).fill(try claim(1..<3, in: context), inBackground: false)
        let range = ByteRange(start: part, end: 2 * part)
        #expect(context.store.claim(PartKey(object: 1, part: 1), need: range, target: range).ready != nil)
        let next = ByteRange(start: 2 * part, end: 3 * part)
        let failure = try #require(context.store.claim(PartKey(object: 1, part: 2), need: next, target: next).failedWith)
        #expect(failure.description.contains("changed"))
    }
}
