import ArgumentParser
import RemoteSources
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// How remote sources (`s3://`, `http(s)://`) are reached: for `mount` and `inspect`.
struct RemoteAccessOptions: ParsableArguments {
    @Option(name: .customLong("header"), help: ArgumentHelp(
        "A header for HTTP(S) sources, e.g. 'Authorization: Bearer TOKEN', or @FILE with one header per line (keeps the secret out of `ps`). Sent only to each source's own host, never across a redirect. Repeatable.",
        valueName: "'NAME: VALUE'|@FILE"))
    var headers: [String] = []

    @Flag(help: "Send S3 requests unsigned, for public buckets (as the AWS CLI's --no-sign-request).")
    var noSignRequest = false

    @Option(help: ArgumentHelp("Seconds a read of a remote source may take, retries included, before it fails with EIO.", valueName: "SECONDS"))
    var readTimeout = 60

    @Option(help: ArgumentHelp("Seconds without data after which a remote request is abandoned and retried.", valueName: "SECONDS"))
    var stallTimeout = 10

    func validate() throws {
        guard readTimeout > 0, stallTimeout > 0 else { throw ValidationError("Timeouts must be positive.") }
    }

    /// The headers given, `@FILE`s read.
    func parsedHeaders() throws(HTTPHeaderError) -> [HTTPHeader] {
        var headers: [HTTPHeader] = []
        for argument in self.headers { headers += try HTTPHeader.parseArgument(argument) }
        return headers
    }

    /// Settings for remote sources from these options.
    func settings(headers: [HTTPHeader]) -> RemoteSettings {
        var settings = RemoteSettings(environment: processEnvironment())
        settings.headers = headers
        settings.signS3Requests = !noSignRequest
        settings.readTimeoutSeconds = readTimeout
        settings.stallTimeoutSeconds = stallTimeout
        return settings
    }
}

/// How a mount reads remote sources: part size, memory and the disk cache.
struct RemoteReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Keep fetched parts of remote sources in this directory, across reads and mounts.", valueName: "DIR"), completion: .directory)
    var cacheDir: String?

    @Option(help: ArgumentHelp("The most the --cache-dir may hold; least recently used parts go first.", valueName: "SIZE"))
    var cacheSize: ByteSize = ByteSize(bytes: 10 << 30, text: "10G")

    @Option(help: ArgumentHelp("The size of the aligned parts remote objects are fetched in.", valueName: "SIZE"))
    var partSize: ByteSize = ByteSize(bytes: 8 << 20, text: "8M")

    @Option(help: ArgumentHelp("The most memory for fetched parts and read-ahead.", valueName: "SIZE"))
    var prefetchMemory: ByteSize = ByteSize(bytes: 512 << 20, text: "512M")

    func validate() throws {
        guard partSize.bytes >= 64 << 10, partSize.bytes <= 1 << 30 else {
            throw ValidationError("--part-size must lie between 64K and 1G.")
        }
        guard prefetchMemory.bytes >= partSize.bytes * 2 else {
            throw ValidationError("--prefetch-memory must hold at least two parts.")
        }
    }

    /// `settings` with these options applied, the cache directory made absolute by `absolute`.
    func applied(to settings: RemoteSettings, absolute: (String) -> String) -> RemoteSettings {
        var settings = settings
        settings.cacheDirectory = cacheDir.map(absolute)
        settings.cacheCapacity = cacheSize.bytes
        settings.partSize = partSize.bytes
        settings.memoryBudget = prefetchMemory.bytes
        return settings
    }
}

/// A size argument such as `512M` or `10G`.
struct ByteSize: ExpressibleByArgument {
    var bytes: UInt64
    var text: String

    init(bytes: UInt64, text: String) {
        self.bytes = bytes
        self.text = text
    }

    init?(argument: String) {
        guard let bytes = ByteSizeText.parse(argument) else { return nil }
        self.init(bytes: bytes, text: argument)
    }

    var defaultValueDescription: String { text }
}

/// The process's environment as a dictionary.
func processEnvironment() -> [String: String] {
    var variables: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "=") {
            variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        entry += 1
    }
    return variables
}
