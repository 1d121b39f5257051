import ByteSources
import Synchronization

/// What all remote sources of a process share: one transport (the libcurl engine and its
/// connections), the parts in memory, the disk cache, the settings, the log and the warnings
/// for the user.
public final class RemoteContext: Sendable {
    let settings: RemoteSettings
    let store: PartStore
    let buffers: BufferPool
    let cache: DiskCache?
    let log: EventLog
    /// Told what happens while a mount loads; nil when nobody shows it.
    private let progress: (@Sendable (RemoteProgress) -> Void)?
    /// Objects fetched whole, from servers that ignore byte ranges.
    let wholeObjects: WholeObjects
    /// The Hugging Face settings and the listings of `hf://` repositories.
    let hubResolver: HubResolver
    /// The listings of `s3://` prefixes.
    let s3Listings = S3PrefixListings()
    private let objectCount = Mutex(0)
    private let startedTransport = Mutex<(any Transport)?>(nil)
    private let abandonCondition = LockedValue<(@Sendable () -> Bool)?>(nil)
    private let collectedWarnings = Mutex<[String]>([])
    private let awsSettings = Mutex<Result<AWSSettings, AWSSettingsError>?>(nil)

    /// Sets up remote reading; fails when the cache directory cannot be used safely. `progress`,
    /// if given, hears what happens while the mount loads.
    public init(settings: RemoteSettings, log: EventLog, progress: (@Sendable (RemoteProgress) -> Void)? = nil) throws(RemoteSetupError) {
        self.settings = settings
        self.log = log
        self.progress = progress
        store = PartStore(budget: settings.memoryBudget)
        let buffers = BufferPool(bufferSize: Int(settings.partSize), limit: Int(settings.memoryBudget / settings.partSize / 4))
        self.buffers = buffers
        wholeObjects = WholeObjects(memoryBudget: settings.memoryBudget)
        hubResolver = HubResolver(environment: settings.environment)
        cache = try settings.cacheDirectory.map { (directory) throws(RemoteSetupError) -> DiskCache in
            try DiskCache(directory: directory, capacity: settings.cacheCapacity, log: log, buffers: buffers)
        }
    }

    /// A context whose requests go to `transport` (tests script one).
    convenience init(settings: RemoteSettings, log: EventLog, transport: any Transport) throws(RemoteSetupError) {
        try self.init(settings: settings, log: log)
        startedTransport.withLock { $0 = transport }
    }

    /// The locators for `s3://`, `http(s)://` and `hf://` sources, to put before the local one.
    public var locators: [any SourceLocator] {
        [S3Locator(context: self), HTTPLocator(context: self), HubLocator(context: self)]
    }

    /// The transport: libcurl engines, one per core (up to four), started on first use (mounts
    /// of local files never start them).
    var transport: any Transport {
        let stallSeconds = max(1, settings.stallTimeoutSeconds)
        return startedTransport.withLock { transport in
            if let transport { return transport }
            let engines = TransferEngineGroup(engines: TransferEngineGroup.defaultCount, timeouts: TransferEngine.Timeouts(stallSeconds: stallSeconds)) { [abandonCondition] in
                abandonCondition.value?() ?? false
            }
            transport = engines
            return engines
        }
    }

    /// Ends every transfer at once, failing the reads that wait for it, once `ended` returns
    /// true (it is asked a few times a second): a daemon whose mount has ended must not wait
    /// for slow servers before it can exit.
    public func abandonTransfers(once ended: @escaping @Sendable () -> Bool) {
        abandonCondition.value = ended
    }

    /// What the user should know about the remote sources opened so far, one line each.
    public var warnings: [String] {
        collectedWarnings.withLock { $0 }
    }

    /// Adds a warning for the user.
    func warn(_ message: String) {
        collectedWarnings.withLock { $0.append(message) }
    }

    /// Waits until fetched parts queued for the disk cache are written, before the process ends.
    public func finishCacheWrites() {
        CacheWriter.queue.sync {}
    }

    /// A number for a newly opened object, naming its parts.
    func nextObjectNumber() -> Int {
        objectCount.withLock { count in
            count += 1
            return count
        }
    }

    /// The AWS settings, worked out on first use (only S3 sources need them).
    func aws() throws(AWSSettingsError) -> AWSSettings {
        let settings = self.settings
        let result = awsSettings.withLock { cached in
            if let cached { return cached }
            let resolved = Result { () throws(AWSSettingsError) -> AWSSettings in
                try AWSSettings.resolve(environment: settings.environment, readFile: { (try? SmallFile.read($0)).map { String(decoding: $0, as: UTF8.self) } }, signRequests: settings.signS3Requests)
            }
            cached = resolved
            return resolved
        }
        return try result.get()
    }

    /// Passes `event` on to whoever shows the mount's progress.
    func report(_ event: RemoteProgress) {
        progress?(event)
    }

    /// Retries while mounting: hosts that cannot be reached fail at once; each retry is reported.
    var mountPolicy: RetryPolicy {
        var policy = RetryPolicy(totalMilliseconds: UInt64(settings.readTimeoutSeconds) * 1000, retriesUnreachableHosts: false)
        if let progress { policy.onRetry = { object, reason in progress(.retrying(object: object, reason: reason)) } }
        return policy
    }

    /// Retries while serving reads.
    var readPolicy: RetryPolicy {
        RetryPolicy(totalMilliseconds: UInt64(settings.readTimeoutSeconds) * 1000, retriesUnreachableHosts: true)
    }
}
