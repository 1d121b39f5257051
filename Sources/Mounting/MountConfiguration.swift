import FuseBridge
import RemoteSources
import TensorFS

/// Everything one mount needs, as the command line asked for it: what to load, how to show
/// it, how to reach remote sources, how to mount, and where to log. The command builds it once;
/// a background daemon receives it whole over its launcher's channel (never on its command
/// line or in its environment, since sources and headers may carry secrets).
public struct MountConfiguration: Sendable, Codable, Equatable {
    /// The sources: absolute paths, or URLs as given (credentials and queries included).
    public var sources: [String]
    /// How the sources are read (a Hugging Face cache folder's revision, other weights).
    public var loadOptions: LoadOptions
    /// How tensor names become paths.
    public var layout: Layout
    /// Which files appear beside each tensor.
    public var views: ViewSelection
    /// Whether each source is mounted as a model of its own, in a directory named after it.
    public var separate: Bool
    /// The tensor-parallel views to add, or nil for none.
    public var tensorParallel: TensorParallelRequest?
    /// How remote sources are reached and read.
    public var remote: RemoteSettings
    /// Where and how to mount.
    public var mount: MountSettings
    /// The file the log is appended to, absolute; nil for stderr in the foreground and the
    /// system log in the background.
    public var logFile: String?
    /// Whether every FUSE operation is logged.
    public var debug: Bool

    /// A configuration with every part given.
    public init(
        sources: [String], loadOptions: LoadOptions, layout: Layout, views: ViewSelection, separate: Bool, tensorParallel: TensorParallelRequest?,
        remote: RemoteSettings, mount: MountSettings, logFile: String?, debug: Bool
    ) {
        self.sources = sources
        self.loadOptions = loadOptions
        self.layout = layout
        self.views = views
        self.separate = separate
        self.tensorParallel = tensorParallel
        self.remote = remote
        self.mount = mount
        self.logFile = logFile
        self.debug = debug
    }

    /// The mount's name in `/proc/mounts`, `findmnt` and `df` for `sources`: the sources as
    /// they may be shown (URLs without credentials or query), cut short if very long.
    public static func sourceName(of sources: [String]) -> String {
        let name = sources.map(SecretArguments.shown).joined(separator: ",")
        guard name.utf8.count > maximumSourceNameBytes else { return name }
        return String(decoding: name.utf8.prefix(maximumSourceNameBytes - 3), as: UTF8.self) + "..."
    }

    /// Mount options share one page with the rest of the options; the name keeps to a quarter.
    private static let maximumSourceNameBytes = 1024
}
