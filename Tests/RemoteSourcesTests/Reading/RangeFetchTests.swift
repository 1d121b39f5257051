@testable import RemoteSources
import SafetensorsFormat
import Synchronization
import Testing

/// RangeFetch's answers to every status a server may send, driven by `RetryLoop` over a
/// scripted transport.
@Suite struct RangeFetchTests {
    private let object = patternBytes(1000)
    private let known = ObjectVersion(size: 1000, etag: "\"v1\"", lastModified: nil)
    private let reads = RetryPolicy(totalMilliseconds: 10_000, retriesUnreachableHosts: true)
    private let original = "http://origin.example/m.safetensors"

    private func endpoint() throws -> HTTPObjectEndpoint {
        HTTPObjectEndpoint(url: try RemoteURL(parsing: original), headers: [try HTTPHeader(parsing: "Authorization: Bearer t")])
    }

    /// Fetches `range` of the object (of `version`, or learning it) over `transport`; the
    /// scripted transport answers at once, so the fetch has ended when `start` returns.
    private func fetch(
        _ range: ByteRange, version: ObjectVersion?, over transport: ScriptedTransport, policy: RetryPolicy? = nil
    ) throws -> (result: Result<FetchOutcome, FetchFailure>, bytes: [UInt8]) {
        let endpoint = try endpoint()
        var bytes = [UInt8](repeating: 0, count: Int(range.count))
        let ended = Mutex<Result<FetchOutcome, FetchFailure>?>(nil)
        bytes.withUnsafeMutableBytes { buffer in
            let fetch = RangeFetch(endpoint: endpoint, version: version, range: range, into: BodyMemory(start: buffer.baseAddress!, count: buffer.count))
            RetryLoop(fetch, transport: transport, policy: policy ?? reads, now: transport.now) { result in
                ended.withLock { $0 = result }
            }.start()
        }
        return (try #require(ended.withLock { $0 }), bytes)
    }

    private func range(_ start: UInt64, _ end: UInt64) -> ByteRange { ByteRange(start: start, end: end) }

    @Test func a206FillsTheRangeAndAFirstFetchLearnsTheVersionAndShrinksToTheSize() throws {
        let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        let (result, bytes) = try fetch(range(0, 4096), version: nil, over: transport)
        let outcome = try result.get()
        #expect(outcome.version == known && outcome.count == 1000)
        #expect(Array(bytes[..<1000]) == object)
        #expect(!transport.sent[0].request.headers.contains { $0.hasPrefix("If-Match") })
    }

    @Test func laterFetchesAreConditionalOnTheVersionAndAskForTheirRange() throws {
        let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        let (result, bytes) = try fetch(range(100, 200), version: known, over: transport)
        #expect(try result.get().count == 100)
        #expect(bytes == Array(object[100..<200]))
        let request = transport.sent[0].request
        #expect(request.range == range(100, 200))
        #expect(request.headers.contains("If-Match: \"v1\"") && request.headers.contains("Authorization: Bearer t"))
    }

    @Test func a200ServesAFetchOfTheWholeObject() throws {
        let transport = ScriptedTransport()
        transport.script(.whole(object))
        let (result, bytes) = try fetch(range(0, 1000), version: known, over: transport)
        #expect(try result.get().count == 1000 && bytes == object)
    }

    @Test func a200ToARangeRequestMeansTheServerIgnoresRanges() throws {
        let transport = ScriptedTransport()
        transport.script(.whole(object))
        let (result, _) = try fetch(range(100, 200), version: known, over: transport)
        #expect(result.failureReason?.contains("ignores byte ranges") == true)
    }

    @Test func aFirstFetchTakesA200ThatFitsAndReportsOneThatDoesNotAsRangesIgnored() throws {
        let fitting = ScriptedTransport()
        fitting.script(.whole(object))
        let (result, bytes) = try fetch(range(0, 4096), version: nil, over: fitting)
        #expect(try result.get().version.size == 1000)
        #expect(Array(bytes[..<1000]) == object)
        let tooLong = ScriptedTransport()
        tooLong.script(.whole(object))
        guard case .failure(.rangesIgnored(let head)) = try fetch(range(0, 100), version: nil, over: tooLong).result else {
            Issue.record("a 200 longer than the range asked for is not reported as ranges ignored")
            return
        }
        #expect(head.contentLength == 1000)
    }

    @Test func a200OfAnotherLengthMeansTheObjectChanged() throws {
        let transport = ScriptedTransport()
        transport.script(.whole(object + [0]))
        #expect(try fetch(range(0, 1000), version: known, over: transport).result.changedReason?.contains("1001") == true)
    }

    @Test func a412OrA416MeansTheObjectChanged() throws {
        for (status, phrase) in [(412, "changed since it was mounted"), (416, "shorter")] {
            let transport = ScriptedTransport()
            transport.script(ScriptedTransport.Answer(status: status, headers: ["Content-Range: bytes */900"]))
            #expect(try fetch(range(950, 1000), version: known, over: transport).result.changedReason?.contains(phrase) == true)
        }
    }

    @Test func aFirstFetchOfAnEmptyObjectEndsWithNoBytes() throws {
        let transport = ScriptedTransport()
        transport.script(ScriptedTransport.Answer(status: 416, headers: ["Content-Range: bytes */0"]))
        let outcome = try fetch(range(0, 4096), version: nil, over: transport).result.get()
        #expect(outcome.version.size == 0 && outcome.count == 0)
    }

    @Test func anotherETagMeansTheObjectChanged() throws {
        let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0, headers: ["ETag: \"v2\""]) }
        #expect(try fetch(range(0, 10), version: known, over: transport).result.changedReason?.contains("\"v2\"") == true)
    }

    @Test func serverErrorsAndThrottlingAreRetriedHonouringRetryAfter() throws {
        let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        transport.script(
            ScriptedTransport.Answer(status: 503, headers: ["Retry-After: 3"], body: Array("<Error><Code>SlowDown</Code></Error>".utf8)),
            ScriptedTransport.Answer(status: 500), ScriptedTransport.Answer(status: 429))
        let (result, bytes) = try fetch(range(0, 1000), version: known, over: transport)
        #expect(bytes == object && (try? result.get()) != nil)
        #expect(transport.sent.count == 4)
        #expect(transport.sent[1].delay >= 3000)
        #expect(transport.sent[2].delay > 0 && transport.sent[3].delay > 0)
    }

    @Test func retriesEndAtTheDeadlineWithTheLastReason() throws {
        let transport = ScriptedTransport { _ in ScriptedTransport.Answer(status: 503) }
        let start = transport.now()
        let (result, _) = try fetch(range(0, 10), version: known, over: transport, policy: RetryPolicy(totalMilliseconds: 2000, retriesUnreachableHosts: true))
        let reason = try #require(result.failureReason)
        #expect(reason.contains("503") && reason.contains("gave up after \(transport.sent.count) attempts in 2.0 s"), "\(reason)")
        #expect(transport.sent.count > 2 && transport.now() - start <= 2000)
    }

    @Test func aTransferEndedAtTheDeadlineFailsTheFetch() throws {
        let transport = ScriptedTransport()
        transport.script { _ in
            ScriptedTransport.Answer(status: 206, headers: ["Content-Range: bytes 0-999/1000", "ETag: \"v1\""], body: [1],
                                     failure: TransportFailure(kind: .interrupted, message: "the answer was still arriving"))
        }
        let policy = RetryPolicy(totalMilliseconds: 2000, retriesUnreachableHosts: true)
        let endpoint = try endpoint()
        var bytes = [UInt8](repeating: 0, count: 1000)
        let ended = Mutex<Result<FetchOutcome, FetchFailure>?>(nil)
        bytes.withUnsafeMutableBytes { buffer in
            let loop = RetryLoop(RangeFetch(endpoint: endpoint, version: known, range: range(0, 1000), into: BodyMemory(start: buffer.baseAddress!, count: buffer.count)),
                                 transport: transport, policy: policy, now: transport.now) { result in ended.withLock { $0 = result } }
            transport.advance(2000)
            loop.start()
        }
        let reason = try #require(ended.withLock { $0 }?.failureReason)
        #expect(reason.contains("still arriving") && reason.contains("gave up after 1 attempt in"), "\(reason)")
        #expect(transport.sent.count == 1)
    }

    @Test func aShortBodyIsResumedWhereItBroke() throws {
        for failure in [TransportFailure(kind: .interrupted, message: "connection reset"), nil] {
            let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
            transport.script(ScriptedTransport.Answer(
                status: 206, headers: ["Content-Range: bytes 0-999/1000", "ETag: \"v1\""], body: Array(object[..<400]), failure: failure))
            let (result, bytes) = try fetch(range(0, 1000), version: known, over: transport)
            #expect((try? result.get()) != nil && bytes == object)
            #expect(transport.sent.map(\.request.range) == [range(0, 1000), range(400, 1000)])
        }
    }

    @Test func aBodyLongerThanAskedOrAContentRangeElsewhereFails() throws {
        let longer = ScriptedTransport()
        longer.script(ScriptedTransport.Answer(status: 206, headers: ["Content-Range: bytes 0-99/1000", "ETag: \"v1\""], body: Array(object[..<200])))
        #expect(try fetch(range(0, 100), version: known, over: longer).result.failureReason?.contains("longer") == true)
        #expect(longer.sent.count == 1)
        let beyond = ScriptedTransport()
        beyond.script(ScriptedTransport.Answer(status: 206, headers: ["Content-Range: bytes 0-199/1000", "ETag: \"v1\""], body: Array(object[..<100])))
        #expect(try fetch(range(0, 100), version: known, over: beyond).result.failureReason?.contains("more bytes than asked for") == true)
        let elsewhere = ScriptedTransport()
        elsewhere.script(ScriptedTransport.Answer(status: 206, headers: ["Content-Range: bytes 5-104/1000", "ETag: \"v1\""], body: Array(object[5..<105])))
        #expect(try fetch(range(0, 100), version: known, over: elsewhere).result.failureReason?.contains("does not match") == true)
    }

    @Test func redirectsAreFollowedAndHeadersStayWithTheirOrigin() throws {
        let transport = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        transport.script(ScriptedTransport.Answer(status: 302, headers: ["Location: http://cdn.example/blob?sig=1"]))
        let (result, bytes) = try fetch(range(0, 100), version: known, over: transport)
        #expect((try? result.get()) != nil && bytes == Array(object[..<100]))
        #expect(transport.sent.map(\.request.url) == [original, "http://cdn.example/blob?sig=1"])
        #expect(transport.sent[0].request.headers.contains("Authorization: Bearer t"))
        #expect(!transport.sent[1].request.headers.contains("Authorization: Bearer t"))
    }

    @Test func aRefusalAfterARedirectStartsOverOnceAtTheOriginalURL() throws {
        let recovering = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        recovering.script(
            ScriptedTransport.Answer(status: 302, headers: ["Location: http://cdn.example/blob?sig=expired"]),
            ScriptedTransport.Answer(status: 403))
        #expect(try (fetch(range(0, 100), version: known, over: recovering).result.get()).count == 100)
        #expect(recovering.sent.map(\.request.url) == [original, "http://cdn.example/blob?sig=expired", original])
        for status in [401, 403] {
            let refusing = ScriptedTransport { _ in ScriptedTransport.Answer(status: status) }
            refusing.script(ScriptedTransport.Answer(status: 302, headers: ["Location: http://cdn.example/blob"]))
            #expect(try fetch(range(0, 100), version: known, over: refusing).result.failureReason?.contains("\(status)") == true)
            #expect(refusing.sent.count == 3)
        }
    }

    @Test func aChainOfRedirectsEnds() throws {
        let transport = ScriptedTransport { _ in ScriptedTransport.Answer(status: 302, headers: ["Location: /again"]) }
        #expect(try fetch(range(0, 100), version: known, over: transport).result.failureReason?.contains("more than 10 redirects") == true)
    }

    @Test func anUnreachableHostIsRetriedOnlyWhileServingReads() throws {
        let mounting = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        mounting.script(.broken(.unreachable, "Failed to connect"))
        let policy = RetryPolicy(totalMilliseconds: 10_000, retriesUnreachableHosts: false)
        #expect(try fetch(range(0, 10), version: nil, over: mounting, policy: policy).result.failureReason?.contains("Failed to connect") == true)
        let reading = ScriptedTransport { .partial(of: patternBytes(1000), for: $0) }
        reading.script(.broken(.unreachable, "Failed to connect"))
        #expect((try? fetch(range(0, 10), version: known, over: reading).result.get()) != nil)
    }
}

extension Result where Failure == FetchFailure {
    /// Why the fetch failed for good, if it did.
    var failureReason: String? {
        if case .failure(.failed(let reason)) = self { return reason }
        return nil
    }

    /// Why the object is found changed, if it is.
    var changedReason: String? {
        if case .failure(.changed(let reason)) = self { return reason }
        return nil
    }
}
