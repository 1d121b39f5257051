import CCurl

/// Where a response body goes.
enum BodySink: @unchecked Sendable {
    /// Into caller-owned memory of `capacity` bytes, which must outlive the transfer; a longer
    /// body aborts the transfer.
    case memory(UnsafeMutableRawPointer, capacity: Int)
    /// Into an array, up to `limit` bytes; a longer body aborts the transfer.
    case collect(limit: Int)
}

/// How a transfer ended.
struct TransferResult: Sendable {
    /// The response's status and headers (status 0 when no response arrived).
    var head: ResponseHead
    /// Body bytes stored in the sink (of a 2xx response).
    var received: Int
    /// The collected body of a 2xx response (for `.collect` sinks), or the start of the body of
    /// any other response (S3 explains errors there).
    var body: [UInt8]
    /// Why libcurl gave up, or nil when the response arrived whole.
    var failure: TransportFailure?
}

/// A transfer libcurl could not complete.
struct TransportFailure: Error, Sendable, CustomStringConvertible {
    /// libcurl's CURLcode.
    var code: UInt32
    /// libcurl's message (it names hosts and ports, never credentials).
    var message: String
    /// Whether the body was longer than the sink could take.
    var overflowed: Bool

    var description: String { message }

    /// Whether the request may be tried again: the network, not the request, failed.
    var isTransient: Bool {
        switch CURLcode(code) {
        case CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
             CURLE_GOT_NOTHING, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_HTTP2,
             CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR, CURLE_AGAIN:
            true
        default:
            false
        }
    }

    /// Whether no server could be reached at all (a refused connection, an unknown host).
    var isUnreachable: Bool {
        [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY].contains(CURLcode(code))
    }
}

/// One request in flight: the state libcurl's callbacks fill in. Only the engine's thread
/// touches it until the completion handler runs (on that thread too).
final class Transfer: @unchecked Sendable {
    let request: HTTPRequest
    let sink: BodySink
    let completion: @Sendable (TransferResult) -> Void
    var head = ResponseHead()
    var received = 0
    var body: [UInt8] = []
    var overflowed = false
    /// When the transfer started or last received something (monotonic milliseconds).
    var lastActivity: UInt64 = 0
    /// libcurl's error message buffer (CURLOPT_ERRORBUFFER).
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(ccurl_error_size))
    /// The header list handed to libcurl, freed with the transfer.
    var headerList: UnsafeMutablePointer<curl_slist>?

    /// The most of an error body kept (S3's error documents are small).
    static let errorBodyLimit = 16 << 10

    init(request: HTTPRequest, sink: BodySink, completion: @escaping @Sendable (TransferResult) -> Void) {
        self.request = request
        self.sink = sink
        self.completion = completion
        errorBuffer.initialize(repeating: 0, count: Int(ccurl_error_size))
    }

    deinit {
        errorBuffer.deallocate()
        curl_slist_free_all(headerList)
    }

    /// Takes body bytes; returns false to abort the transfer.
    func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard (200..<300).contains(head.status) else {
            body += bytes.prefix(max(0, Self.errorBodyLimit - body.count))
            return true
        }
        switch sink {
        case .memory(let base, let capacity):
            guard bytes.count <= capacity - received else {
                overflowed = true
                return false
            }
            (base + received).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        case .collect(let limit):
            guard bytes.count <= limit - received else {
                overflowed = true
                return false
            }
            body += bytes
        }
        received += bytes.count
        return true
    }

    /// The result once libcurl reports `code`.
    func result(code: CURLcode) -> TransferResult {
        var failure: TransportFailure?
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            failure = TransportFailure(code: code.rawValue, message: message, overflowed: overflowed)
        }
        return TransferResult(head: head, received: received, body: body, failure: failure)
    }
}
