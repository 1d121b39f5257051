/// How remote sources are reached and read: what the command line configures.
public struct RemoteSettings: Sendable, Codable, Equatable {
    /// Headers for HTTP(S) sources (`--header`), sent only to each source's own origin.
    public var headers: [HTTPHeader] = []
    /// Whether S3 requests are signed (false with `--no-sign-request`).
    public var signS3Requests = true
    /// The variables AWS settings come from (`AWS_*`, `HOME`).
    public var environment: [String: String]
    /// The size of the aligned parts objects are fetched and cached in.
    public var partSize: UInt64 = 8 << 20
    /// Reads that do not continue a sequential stream fetch this much around them (aligned),
    /// so random small reads stay small.
    public var randomReadSize: UInt64 = 1 << 20
    /// The most fetched bytes kept in memory (read-ahead included).
    public var memoryBudget: UInt64 = 512 << 20
    /// A cache directory that keeps fetched parts across reads and remounts, or nil.
    public var cacheDirectory: String?
    /// The most bytes the cache directory may take.
    public var cacheCapacity: UInt64 = 10 << 30
    /// How long a fetch may take, from its first request to its last byte, retries included,
    /// before its reads fail with EIO; a transfer still running then is ended.
    public var readTimeoutSeconds = 60
    /// A transfer that receives nothing for this long is abandoned and retried.
    public var stallTimeoutSeconds = 10
    /// How much of each file the first request asks for: the 8-byte length and the header of
    /// almost every file fit, so mounting takes one request per file.
    public var headerProbeSize: UInt64 = 256 << 10

    /// Settings with defaults, reading AWS settings from `environment`.
    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The bounds of read-ahead: a stream's window is at least the smaller of 64 MiB and a
    /// quarter of the memory, and may grow to that quarter for servers that are slow per
    /// request, whose requests may ask for up to a quarter too. A window and a request past
    /// it stay within the half of the memory that fetches in flight may take. A request's body
    /// should arrive within a quarter of the read timeout.
    var readaheadLimits: RequestCostModel.Limits {
        RequestCostModel.Limits(
            partSize: partSize, maximumSpan: max(partSize, memoryBudget / 4),
            minimumWindow: max(partSize, min(64 << 20, memoryBudget / 4)), maximumWindow: max(partSize, memoryBudget / 4),
            longestTransferSeconds: Double(readTimeoutSeconds) / 4)
    }
}
