import CCurl
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs HTTP transfers with libcurl's multi interface on one thread of its own: any thread
/// submits a transfer and gets its result through a completion handler, so many requests are
/// in flight at once (across and within objects) over reused connections, and nothing blocks
/// but the callers that choose to wait.
final class TransferEngine: Transport, @unchecked Sendable {
    /// Timeouts every transfer gets.
    struct Timeouts: Sendable {
        /// How long connecting may take.
        var connectMilliseconds = 10_000
        /// A transfer that receives nothing for this many seconds is abandoned (and retried by
        /// its caller).
        var stallSeconds = 10
        /// How often stalls and deadlines are looked for.
        var watchdogMilliseconds: UInt64 = 250
    }

    private let multi: UnsafeMutableRawPointer
    private let timeouts: Timeouts
    private let shouldAbandon: @Sendable () -> Bool
    /// Transfers submitted from any thread, with the time they may start.
    private let submissions = Mutex<[(transfer: CurlTransfer, notBefore: UInt64)]>([])
    // The rest belongs to the engine's thread.
    private var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var delayed: [(transfer: CurlTransfer, notBefore: UInt64)] = []
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private var abandoned = false
    private var nextWatch: UInt64 = 0

    private static let globalInit: Void = { curl_global_init(ccurl_global_all) }()

    /// What an abandoned transfer ends with.
    static let abandonedMessage = "the mount is ending"

    /// Starts an engine whose thread runs for the life of the process. Once `shouldAbandon`
    /// (asked a few times a second) returns true, every transfer ends at once as failed, and so
    /// does every later one: for a daemon whose mount has ended while threads still wait.
    init(timeouts: Timeouts = Timeouts(), connectionsPerHost: Int = 32, shouldAbandon: @escaping @Sendable () -> Bool = { false }) {
        _ = Self.globalInit
        multi = curl_multi_init()
        self.timeouts = timeouts
        self.shouldAbandon = shouldAbandon
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connectionsPerHost)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, connectionsPerHost * 2)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            Unmanaged<TransferEngine>.fromOpaque(context!).takeUnretainedValue().loop()
        }, context)
        pthread_detach(thread)
    }

    func send(_ exchange: Exchange, afterMilliseconds delay: UInt64) {
        let notBefore = delay == 0 ? 0 : MonotonicClock.milliseconds() + delay
        submissions.withLock { $0.append((CurlTransfer(exchange), notBefore)) }
        curl_multi_wakeup(multi)
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
            if abandoned {
                abandonWaiting()
            }
            var stillDelayed: [(transfer: CurlTransfer, notBefore: UInt64)] = []
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
            if now >= nextWatch {
                nextWatch = now + timeouts.watchdogMilliseconds
                watch(now: now)
            }
            let nextStart = delayed.map(\.notBefore).min().map { $0 > now ? $0 - now : 0 } ?? timeouts.watchdogMilliseconds
            curl_multi_poll(multi, nil, 0, Int32(min(nextStart, timeouts.watchdogMilliseconds)), nil)
        }
    }

    private func start(_ transfer: CurlTransfer) {
        let handle = idleHandles.popLast() ?? curl_easy_init()!
        curl_easy_reset(handle)
        configure(handle, for: transfer)
        running[handle] = transfer
        transfer.lastActivity = MonotonicClock.milliseconds()
        curl_multi_add_handle(multi, handle)
    }

    /// Ends transfers that received nothing for the stall timeout, and those still running at
    /// their deadline (a server trickling bytes never stalls); ends everything once the owner
    /// says to abandon. (libcurl's own low-speed check averages over seconds of history, so a
    /// burst followed by silence goes unnoticed for long.)
    private func watch(now: UInt64) {
        if !abandoned && shouldAbandon() {
            abandoned = true
            for (handle, transfer) in running {
                transfer.setErrorMessage(Self.abandonedMessage)
                finish(handle, code: CURLE_ABORTED_BY_CALLBACK)
            }
            abandonWaiting()
            return
        }
        let limit = UInt64(timeouts.stallSeconds) * 1000
        for (handle, transfer) in running {
            if now > transfer.lastActivity + limit {
                transfer.setErrorMessage("no data for \(timeouts.stallSeconds) s")
            } else if now >= transfer.exchange.deadline {
                transfer.setErrorMessage("the answer was still arriving when the time for the read ran out")
            } else {
                continue
            }
            finish(handle, code: CURLE_OPERATION_TIMEDOUT)
        }
    }

    /// Ends the transfers not started yet, after the owner said to abandon.
    private func abandonWaiting() {
        let failure = TransportFailure(kind: .permanent, message: Self.abandonedMessage)
        for entry in delayed {
            entry.transfer.exchange.completion(TransferResult(head: ResponseHead(), received: 0, body: [], failure: failure))
        }
        delayed = []
    }

    private func finish(_ handle: UnsafeMutableRawPointer, code: CURLcode) {
        curl_multi_remove_handle(multi, handle)
        guard let transfer = running.removeValue(forKey: handle) else { return }
        idleHandles.append(handle)
        transfer.exchange.completion(transfer.result(code: code, timing: code == CURLE_OK ? Self.timing(of: handle) : nil))
    }

    /// What libcurl measured of the transfer `handle` just ended, from the moment the request
    /// was ready to go: connecting (and waiting for a free connection) is not the server's time.
    private static func timing(of handle: UnsafeMutableRawPointer) -> TransferTiming? {
        var ready: curl_off_t = 0
        var firstByte: curl_off_t = 0
        var end: curl_off_t = 0
        guard ccurl_getinfo_offset(handle, CURLINFO_PRETRANSFER_TIME_T, &ready) == CURLE_OK,
              ccurl_getinfo_offset(handle, CURLINFO_STARTTRANSFER_TIME_T, &firstByte) == CURLE_OK,
              ccurl_getinfo_offset(handle, CURLINFO_TOTAL_TIME_T, &end) == CURLE_OK,
              ready >= 0, firstByte >= ready, end >= firstByte else { return nil }
        return TransferTiming(waitMicroseconds: UInt64(firstByte - ready), totalMicroseconds: UInt64(end - ready))
    }

    private func configure(_ handle: UnsafeMutableRawPointer, for transfer: CurlTransfer) {
        let request = transfer.exchange.request
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
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
    transfer.lastActivity = MonotonicClock.milliseconds()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    return transfer.take(bytes) ? size * count : 0
}

private let readHeaderLine: ccurl_data_callback = { data, size, count, context in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
    transfer.lastActivity = MonotonicClock.milliseconds()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    transfer.head.take(line: Substring(String(decoding: bytes, as: UTF8.self)))
    return size * count
}
