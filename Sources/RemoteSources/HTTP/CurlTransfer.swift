import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// One exchange in flight in the libcurl engine: the state libcurl's callbacks fill in. Only the
/// engine's thread touches it until the completion handler runs (on that thread too).
final class CurlTransfer: @unchecked Sendable {
    let exchange: Exchange
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

    init(_ exchange: Exchange) {
        self.exchange = exchange
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
        switch exchange.sink {
        case .memory(let memory):
            guard bytes.count <= memory.capacity - received else {
                overflowed = true
                return false
            }
            memory.write(bytes, at: received)
            received += bytes.count
            exchange.onBody?(head, received)
        case .collect(let limit):
            guard bytes.count <= limit - received else {
                overflowed = true
                return false
            }
            body += bytes
            received += bytes.count
        }
        return true
    }

    /// Puts `message` where libcurl puts its error text: for transfers the engine ends itself.
    func setErrorMessage(_ message: String) {
        message.withCString { text in
            _ = strncpy(errorBuffer, text, Int(ccurl_error_size) - 1)
        }
    }

    /// The result once libcurl reports `code`, taking `timing` as measured.
    func result(code: CURLcode, timing: TransferTiming?) -> TransferResult {
        var failure: TransportFailure?
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            failure = TransportFailure(kind: overflowed ? .overflowed : Self.kind(of: code), message: message)
        }
        return TransferResult(head: head, received: received, body: body, failure: failure, timing: timing)
    }

    /// The kind of failure libcurl's `code` is.
    static func kind(of code: CURLcode) -> TransportFailure.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            .unreachable
        case CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING,
             CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR, CURLE_AGAIN:
            .interrupted
        default:
            .permanent
        }
    }
}
