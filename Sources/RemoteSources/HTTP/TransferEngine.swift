import CCurl
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs HTTP transfers with libcurl's multi interface on one thread of its own: any thread
/// submits a transfer and gets its result through a completion handler, so many requests are
/// in flight at once (across and within objects) over reused connections, and nothing blocks
/// but the callers that choose to wait.
final class TransferEngine: @unchecked Sendable {
    /// Timeouts every transfer gets.
    struct Timeouts: Sendable {
        /// How long connecting may take.
        var connectMilliseconds = 10_000
        /// A transfer that receives nothing for this many seconds is abandoned (and retried by
        /// its caller).
        var stallSeconds = 10
        /// How often stalls are looked for.
        var watchdogMilliseconds: UInt64 = 250
    }

    private let multi: UnsafeMutableRawPointer
    private let timeouts: Timeouts
    /// Transfers submitted from any thread, with the time they may start.
    private let submissions = Mutex<[(transfer: Transfer, notBefore: UInt64)]>([])
    // The rest belongs to the engine's thread.
    private var running: [UnsafeMutableRawPointer: Transfer] = [:]
    private var delayed: [(transfer: Transfer, notBefore: UInt64)] = []
    private var idleHandles: [UnsafeMutableRawPointer] = []

    private static let globalInit: Void = { curl_global_init(ccurl_global_all) }()

    /// Starts an engine whose thread runs for the life of the process.
    init(timeouts: Timeouts = Timeouts(), connectionsPerHost: Int = 32) {
        _ = Self.globalInit
        multi = curl_multi_init()
        self.timeouts = timeouts
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connectionsPerHost)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, connectionsPerHost * 2)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            Unmanaged<TransferEngine>.fromOpaque(context!).takeUnretainedValue().loop()
        }, context)
        pthread_detach(thread)
    }

    /// Queues `transfer`, to start after `delayMilliseconds`.
    func submit(_ transfer: Transfer, delayMilliseconds: UInt64 = 0) {
        let notBefore = delayMilliseconds == 0 ? 0 : MonotonicClock.milliseconds() + delayMilliseconds
        submissions.withLock { $0.append((transfer, notBefore)) }
        curl_multi_wakeup(multi)
    }

    /// Sends `request` and waits for the result.
    func perform(_ request: HTTPRequest, sink: BodySink) -> TransferResult {
        let done = Completion<TransferResult>()
        submit(Transfer(request: request, sink: sink) { done.finish($0) })
        return done.wait()
    }

    // MARK: The engine's thread

    private func loop() -> Never {
        while true {
            let now = MonotonicClock.milliseconds()
            let incoming = submissions.withLock { pending in
                defer { pending.removeAll() }
                return pending
            }
            delayed += incoming
            var stillDelayed: [(transfer: Transfer, notBefore: UInt64)] = []
            for entry in delayed {
                if entry.notBefore <= now { start(entry.transfer) } else { stillDelayed.append(entry) }
            }
            delayed = stillDelayed
            var active: Int32 = 0
            curl_multi_perform(multi, &active)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
                finish(handle, code: message.pointee.data.result)
            }
            abandonStalledTransfers()
            let nextStart = delayed.map(\.notBefore).min().map { $0 > now ? $0 - now : 0 } ?? timeouts.watchdogMilliseconds
            curl_multi_poll(multi, nil, 0, Int32(min(nextStart, timeouts.watchdogMilliseconds)), nil)
        }
    }

    private func start(_ transfer: Transfer) {
        let handle = idleHandles.popLast() ?? curl_easy_init()!
        curl_easy_reset(handle)
        configure(handle, for: transfer)
        running[handle] = transfer
        transfer.lastActivity = MonotonicClock.milliseconds()
        curl_multi_add_handle(multi, handle)
    }

    /// Ends transfers that received nothing for the stall timeout. (libcurl's own low-speed
    /// check averages over seconds of history, so a burst followed by silence goes unnoticed
    /// for long.)
    private func abandonStalledTransfers() {
        let now = MonotonicClock.milliseconds()
        let limit = UInt64(timeouts.stallSeconds) * 1000
        for (handle, transfer) in running where now > transfer.lastActivity + limit {
            let message = "no data for \(timeouts.stallSeconds) s"
            message.withCString { text in
                _ = strncpy(transfer.errorBuffer, text, Int(ccurl_error_size) - 1)
            }
            finish(handle, code: CURLE_OPERATION_TIMEDOUT)
        }
    }

    private func finish(_ handle: UnsafeMutableRawPointer, code: CURLcode) {
        curl_multi_remove_handle(multi, handle)
        guard let transfer = running.removeValue(forKey: handle) else { return }
        idleHandles.append(handle)
        transfer.completion(transfer.result(code: code))
    }

    private func configure(_ handle: UnsafeMutableRawPointer, for transfer: Transfer) {
        let request = transfer.request
        ccurl_setopt_string(handle, CURLOPT_URL, request.url)
        ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, timeouts.connectMilliseconds)
        ccurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        ccurl_setopt_long(handle, CURLOPT_PIPEWAIT, 1)
        ccurl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 << 10)
        ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, writeBody)
        ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        ccurl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, readHeaderLine)
        ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        var lines = request.headers
        if let range = request.range, !range.isEmpty {
            lines.append("Range: bytes=\(range.start)-\(range.end - 1)")
        }
        if let signing = request.signing {
            ccurl_setopt_string(handle, CURLOPT_AWS_SIGV4, "aws:amz:\(signing.region):s3")
            ccurl_setopt_string(handle, CURLOPT_USERNAME, signing.credentials.accessKeyID)
            ccurl_setopt_string(handle, CURLOPT_PASSWORD, signing.credentials.secretAccessKey)
            // S3 wants the payload's hash; a GET has none (this is the SHA-256 of nothing).
            lines.append("x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            if let token = signing.credentials.sessionToken { lines.append("x-amz-security-token: \(token)") }
        }
        // No Accept header keeps requests short (curl would sign the removal of one, so only
        // unsigned requests drop it); no Accept-Encoding keeps bodies byte-exact.
        if request.signing == nil { lines.append("Accept:") }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines { list = curl_slist_append(list, line) }
        transfer.headerList = list
        ccurl_setopt_list(handle, CURLOPT_HTTPHEADER, list)
    }
}

private let writeBody: ccurl_data_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    transfer.lastActivity = MonotonicClock.milliseconds()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    return transfer.take(bytes) ? size * count : 0
}

private let readHeaderLine: ccurl_data_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    transfer.lastActivity = MonotonicClock.milliseconds()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    transfer.head.take(line: Substring(String(decoding: bytes, as: UTF8.self)))
    return size * count
}
