/// What a location names.
public enum LocationKind: Sendable {
    /// A single file (or object).
    case file
    /// A directory (or prefix) with these entry names, sorted by their bytes.
    case directory(entries: [String])
}

/// Opens the files a model is made of, wherever they live. The loader asks the first locator
/// that handles a location; local paths are handled by `LocalFiles`.
public protocol SourceLocator: Sendable {
    /// Whether this locator serves `location` (by scheme, for instance).
    func handles(_ location: String) -> Bool
    /// Whether `location` is a file or a directory, or why it is neither.
    func kind(of location: String) throws(ModelError) -> LocationKind
    /// Opens the file at `location`; errors name it `displayName`.
    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource
    /// Where `location` really is (symlinks resolved), for a model's directory; nil when the
    /// notion does not apply.
    func canonical(_ location: String) -> String?
    /// Where `source`, opened from `location`, really is, to check that it lies inside a
    /// model's directory: found from the open file itself where files can be swapped under a
    /// path (so that the check cannot be raced), else `canonical(location)`.
    func resolvedLocation(ofOpened source: any ByteSource, at location: String) -> String?
    /// `location` of a file named by `relativePath` beside the file at `base`.
    func sibling(of base: String, relativePath: String) -> String
    /// How messages, logs and sidecars show `location`: never with credentials in it.
    func displayName(of location: String) -> String
    /// How many files this locator opens at once while a model loads: files that wait on network
    /// round trips are best opened many at a time.
    var concurrentOpens: Int { get }
    /// The files at any depth below the directory `location`, as paths relative to it (joined
    /// with `/`), sorted by their bytes; directories named in `skipping` are not entered.
    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String]
    /// Where to look for `location` in the local Hugging Face cache before reading it through
    /// this locator, when it names a Hub repository; nil otherwise.
    func hubCacheQuery(for location: String) throws(ModelError) -> HubCacheQuery?
}

extension SourceLocator {
    public func hubCacheQuery(for location: String) throws(ModelError) -> HubCacheQuery? { nil }
    public func displayName(of location: String) -> String { location }
    public func resolvedLocation(ofOpened source: any ByteSource, at location: String) -> String? { canonical(location) }
}

/// A Hugging Face Hub repository that a SOURCE names, to be looked for in the local Hugging
/// Face cache before the network.
public struct HubCacheQuery: Sendable, Hashable {
    /// The cache's folder of repositories (`HF_HUB_CACHE`).
    public var cacheDirectory: String
    /// The repository's folder there, `models--ORG--NAME`.
    public var repositoryFolder: String
    /// The revision: a branch or tag (a file below `refs/`) or a commit hash; nil for `main`.
    public var revision: String?
    /// The folder of the repository to mount, components joined with `/` (empty for its top).
    public var subfolder: String
    /// Whether only the cache may be used (`HF_HUB_OFFLINE`).
    public var offline: Bool

    /// Creates a query.
    public init(cacheDirectory: String, repositoryFolder: String, revision: String?, subfolder: String, offline: Bool) {
        self.cacheDirectory = cacheDirectory
        self.repositoryFolder = repositoryFolder
        self.revision = revision
        self.subfolder = subfolder
        self.offline = offline
    }
}
