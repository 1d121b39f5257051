import ByteSources
import Synchronization


/// What all remote sources of a process share: one transfer engine (and its connections), the
/// parts in memory, the disk cache, the settings and the log.
public final class RemoteContext: Sendable {
    let settings: RemoteSettings
    let store: PartStore
    let buffers: BufferPool
    let cache: DiskCache?
    let log: EventLog
    private let objectCount = Mutex(0)
    private let startedEngine = Mutex<TransferEngine?>(nil)
    private let awsSettings = Mutex<Result<AWSSettings, AWSSettingsError>?>(nil)

    /// Sets up remote reading; fails when the cache directory cannot be used.
    public init(settings: RemoteSettings, log: EventLog) throws(RemoteSetupError) {
        self.settings = settings
        self.log = log
        store = PartStore(budget: settings.memoryBudget)
        buffers = BufferPool(bufferSize: Int(settings.partSize), limit: Int(settings.memoryBudget / settings.partSize / 4))
        cache = try settings.cacheDirectory.map { (directory) throws(RemoteSetupError) -> DiskCache in
            try DiskCache(directory: directory, capacity: settings.cacheCapacity, log: log)
        }
    }

    /// The locators for `s3://` and `http(s)://` sources, to put before the local one.
    public var locators: [any SourceLocator] {
        [S3Locator(context: self), HTTPLocator(context: self)]
    }

    /// The transfer engine, started on first use (mounts of local files never start it).
    var engine: TransferEngine {
        let stallSeconds = max(1, settings.stallTimeoutSeconds)
        return startedEngine.withLock { engine in
            if let engine { return engine }
            let started = TransferEngine(timeouts: TransferEngine.Timeouts(stallSeconds: stallSeconds))
            engine = started
            return started
        }
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
                try AWSSettings.resolve(environment: settings.environment, readFile: { readSmallFile($0) }, signRequests: settings.signS3Requests)
            }
            cached = resolved
            return resolved
        }
        return try result.get()
    }

    /// Retries while mounting: hosts that cannot be reached fail at once.
    var mountPolicy: RetryPolicy {
        RetryPolicy(totalMilliseconds: UInt64(settings.readTimeoutSeconds) * 1000, retriesUnreachableHosts: false)
    }

    /// Retries while serving reads.
    var readPolicy: RetryPolicy {
        RetryPolicy(totalMilliseconds: UInt64(settings.readTimeoutSeconds) * 1000, retriesUnreachableHosts: true)
    }
}
