@testable import RemoteSources
import SafetensorsFormat
import Synchronization

/// A transport that answers from a script instead of a network: each request gets the next
/// scripted answer, or, when the script is used up, the server's. It answers at once, on the
/// caller's thread, and its clock moves only by the delays asked for, so retries cost no time.
final class ScriptedTransport: Transport, Sendable {
    /// One answer: a status line and headers, a body, how the transfer broke off, if it did,
    /// and how long it took, as the engine would have measured it.
    struct Answer: Sendable {
        var status: Int
        var headers: [String] = []
        var body: [UInt8] = []
        var failure: TransportFailure?
        var timing: TransferTiming?
    }

    /// What was asked: a request, and how long after the previous one it was sent.
    struct Sent: Sendable {
        var request: HTTPRequest
        var delay: UInt64
    }

    private struct State {
        var script: [@Sendable (HTTPRequest) -> Answer] = []
        var sent: [Sent] = []
        var clock: UInt64 = 1_000_000
    }

    private let state = Mutex(State())
    private let server: @Sendable (HTTPRequest) -> Answer

    /// A transport whose requests, past the script, `server` answers (by default, with a
    /// connection that cannot be made).
    init(server: @escaping @Sendable (HTTPRequest) -> Answer = { _ in Answer(status: 0, failure: TransportFailure(kind: .permanent, message: "no server")) }) {
        self.server = server
    }

    /// Adds answers to the script, in order.
    func script(_ answers: Answer...) {
        state.withLock { state in state.script += answers.map { answer in { _ in answer } } }
    }

    /// Adds an answer that depends on the request.
    func script(_ answer: @escaping @Sendable (HTTPRequest) -> Answer) {
        state.withLock { $0.script.append(answer) }
    }

    /// The requests sent so far.
    var sent: [Sent] { state.withLock { $0.sent } }

    /// The transport's clock, in milliseconds.
    @Sendable func now() -> UInt64 { state.withLock { $0.clock } }

    /// Moves the clock on by `milliseconds`.
    func advance(_ milliseconds: UInt64) {
        state.withLock { $0.clock += milliseconds }
    }

    func send(_ exchange: Exchange, afterMilliseconds delay: UInt64) {
        let next = state.withLock { state -> (@Sendable (HTTPRequest) -> Answer)? in
            state.clock += delay
            state.sent.append(Sent(request: exchange.request, delay: delay))
            return state.script.isEmpty ? nil : state.script.removeFirst()
        }
        let answer = (next ?? server)(exchange.request)
        let result = Self.result(of: answer, into: exchange.sink)
        if case .memory = exchange.sink, result.received > 0 { exchange.onBody?(result.head, result.received) }
        exchange.completion(result)
    }

    /// What the engine would report for `answer`: a 2xx body in the sink, or, when it does not
    /// fit, nothing and an overflow (the body comes as one piece); any other body kept for
    /// explanations.
    private static func result(of answer: Answer, into sink: BodySink) -> TransferResult {
        var head = ResponseHead()
        if answer.status != 0 { head.take(line: "HTTP/1.1 \(answer.status) \(reason(answer.status))\r\n") }
        for line in answer.headers { head.take(line: Substring(line + "\r\n")) }
        guard (200..<300).contains(answer.status) else {
            return TransferResult(head: head, received: 0, body: answer.body, failure: answer.failure)
        }
        let capacity = switch sink {
        case .memory(let memory): memory.capacity
        case .collect(let limit): limit
        }
        guard answer.body.count <= capacity else {
            return TransferResult(head: head, received: 0, body: [], failure: TransportFailure(kind: .overflowed, message: "the body is longer than asked for"))
        }
        let stored = answer.body
        if case .memory(let memory) = sink {
            stored.withUnsafeBytes { memory.write($0, at: 0) }
        }
        let failure = answer.failure
        let collected: [UInt8] = if case .collect = sink { stored } else { [] }
        return TransferResult(head: head, received: stored.count, body: collected, failure: failure, timing: answer.timing)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 302: "Found"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 412: "Precondition Failed"
        case 416: "Range Not Satisfiable"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

extension ScriptedTransport.Answer {
    /// A 206 with the bytes of `object` that `request` asks for (all of them without a range).
    static func partial(of object: [UInt8], for request: HTTPRequest, headers: [String] = ["ETag: \"v1\""]) -> Self {
        let asked = request.range ?? ByteRange(start: 0, end: UInt64(object.count))
        let end = min(asked.end, UInt64(object.count))
        guard asked.start < end else {
            return Self(status: 416, headers: ["Content-Range: bytes */\(object.count)"] + headers)
        }
        return Self(
            status: 206, headers: ["Content-Range: bytes \(asked.start)-\(end - 1)/\(object.count)"] + headers,
            body: Array(object[Int(asked.start)..<Int(end)]))
    }

    /// A 206 for the bytes of `object` that `request` asks for, whose body breaks off after
    /// `count` bytes.
    static func brokenOff(of object: [UInt8], for request: HTTPRequest, after count: Int) -> Self {
        var answer = partial(of: object, for: request)
        answer.body = Array(answer.body.prefix(count))
        answer.failure = TransportFailure(kind: .interrupted, message: "connection reset")
        return answer
    }

    /// A 200 with all of `object`.
    static func whole(_ object: [UInt8], headers: [String] = ["ETag: \"v1\""]) -> Self {
        Self(status: 200, headers: ["Content-Length: \(object.count)"] + headers, body: object)
    }

    /// A transfer that broke off before any answer.
    static func broken(_ kind: TransportFailure.Kind, _ message: String) -> Self {
        Self(status: 0, failure: TransportFailure(kind: kind, message: message))
    }
}

/// `count` bytes that differ from their neighbours, for objects in tests.
func patternBytes(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) &+ seed }
}
