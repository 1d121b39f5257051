import ByteSources
import SafetensorsFormat

/// How SOURCE arguments are read.
public struct LoadOptions: Sendable, Hashable, Codable {
    /// The revision a Hugging Face cache folder SOURCE (`models--ORG--NAME`) is mounted at: a
    /// branch below its `refs/` or a snapshot's commit hash; nil for `refs/main`.
    public var revision: String?
    /// Whether weights in other formats at the top of a directory SOURCE (`pytorch_model.bin`,
    /// `*.gguf`, ...) are shown as companion files; by default they are left out.
    public var includesOtherWeights: Bool

    /// Creates options.
    public init(revision: String? = nil, includesOtherWeights: Bool = false) {
        self.revision = revision
        self.includesOtherWeights = includesOtherWeights
    }
}

/// Turns SOURCE arguments (files, indexes, directories) into logical models, checking every
/// header and every index against the shards before anything is mounted. Finding what a SOURCE
/// stands for is `SourceDiscovery`'s part; this type opens and checks what was found.
public struct ModelLoader: Sendable {
    /// The name of a Hugging Face shard index.
    public static let indexFileName = "model.safetensors.index.json"
    /// Index files are small; anything larger than this is refused rather than read.
    static let maximumIndexSize: UInt64 = 256 << 20
    /// The first read of a file, which holds the whole header of almost every file.
    static let headerProbeSize: UInt64 = 64 << 10

    private let locators: [any SourceLocator]
    let options: LoadOptions

    /// Creates a loader that asks `locators` in order, then the local filesystem.
    public init(locators: [any SourceLocator] = [], options: LoadOptions = LoadOptions()) {
        self.locators = locators + [LocalFiles()]
        self.options = options
    }

    /// Loads all `sources` as one model, merged into one namespace.
    public func loadMerged(_ sources: [String]) throws(ModelError) -> LogicalModel {
        var plans: [SourcePlan] = []
        var readAhead = ReadAhead()
        for source in sources { plans.append(try plan(source, readingAheadInto: &readAhead)) }
        let name = plans.count == 1 ? plans[0].name : "model"
        return try load(SourcePlan.merging(plans, name: name), readAhead: readAhead)
    }

    /// Loads each of `sources` as a model of its own, named after its file or folder.
    public func loadSeparately(_ sources: [String]) throws(ModelError) -> [LogicalModel] {
        var models: [LogicalModel] = []
        var usedNames = Set<Utf8Key>()
        for source in sources {
            var readAhead = ReadAhead()
            var plan = try plan(source, readingAheadInto: &readAhead)
            var candidate = plan.name
            var suffix = 2
            while !usedNames.insert(Utf8Key(candidate)).inserted {
                candidate = "\(plan.name)-\(suffix)"
                suffix += 1
            }
            plan.name = candidate
            models.append(try load(plan, readAhead: readAhead))
        }
        return models
    }

    /// The locator that serves `location`.
    func locator(for location: String) -> any SourceLocator {
        locators.first { $0.handles(location) }!
    }

    // MARK: Loading

    private func load(_ plan: SourcePlan, readAhead: ReadAhead) throws(ModelError) -> LogicalModel {
        let loader = self
        // Files that wait on network round trips are opened many at a time.
        let width = (plan.files.map(\.location) + plan.companions.map(\.location)).reduce(1) { max($0, locator(for: $1).concurrentOpens) }
        let loaded = try plan.files.parallelMap(width: width) { (file) throws(ModelError) -> LoadedFile in
            var loaded: LoadedFile
            if let early = readAhead[file.location] {
                loaded = LoadedFile(planned: file, source: early.source, header: early.header)
            } else {
                loaded = try loader.loadFile(file, of: plan)
            }
            if let listing = file.listing, let root = plan.indexes[listing.index].root {
                let index = plan.indexes[listing.index]
                try loader.checkInside(root, loaded.source, openedAt: file.location) { place in
                    .inconsistent(file: index.displayName, reason: "the weight_map names shard \(quoted(index.index.shardFiles[listing.shard])), which \(place), outside the model's directory \(loader.locator(for: file.location).displayName(of: root))")
                }
            }
            return loaded
        }
        let companions = try plan.companions.parallelMap(width: width) { (companion) throws(ModelError) -> Result<CompanionFile, ModelError> in
            try loader.openCompanion(companion)
        }
        var warnings = plan.warnings
        var opened: [CompanionFile] = []
        for outcome in companions {
            switch outcome {
            case .success(let companion): opened.append(companion)
            case .failure(let problem): warnings.append("\(problem); it is left out of the mount")
            }
        }
        return try ModelAssembly(plan: plan, files: loaded, companions: opened, warnings: warnings).assemble()
    }

    /// Opens a companion file and checks it: a file that lies outside the model's directory, is
    /// not a regular file, or cannot be opened fails the mount, except one that may not be
    /// read (permissions), which is left out with a warning.
    private func openCompanion(_ companion: PlannedCompanion) throws(ModelError) -> Result<CompanionFile, ModelError> {
        let locator = locator(for: companion.location)
        let source: any ByteSource
        do {
            source = try locator.open(companion.location, displayName: companion.displayName)
        } catch {
            if case .source(let failure) = error, case .system(_, .permissionDenied) = failure.reason { return .failure(error) }
            throw error
        }
        if let root = companion.root {
            try checkInside(root, source, openedAt: companion.location) { place in
                .unusableSource(companion.displayName, reason: "it \(place), outside the model's directory \(locator.displayName(of: root))")
            }
        }
        return .success(CompanionFile(relativePath: companion.relativePath, source: source))
    }

    /// Fails with `error(where it lies)` when `source`, opened at `location`, lies outside the
    /// directory `root`. Checked on the file as opened, so that a symlink swapped after a check
    /// of the path cannot get past it.
    private func checkInside(_ root: String, _ source: any ByteSource, openedAt location: String, _ error: (String) -> ModelError) throws(ModelError) {
        let locator = locator(for: location)
        let resolved = locator.resolvedLocation(ofOpened: source, at: location)
        guard let resolved, resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw error(resolved.map { "resolves to \(locator.displayName(of: $0))" } ?? "cannot be located")
        }
    }

    private func loadFile(_ file: PlannedFile, of plan: SourcePlan) throws(ModelError) -> LoadedFile {
        let source: any ByteSource
        do {
            source = try locator(for: file.location).open(file.location, displayName: file.displayName)
        } catch {
            guard let listing = file.listing else { throw error }
            let index = plan.indexes[listing.index]
            throw .inconsistent(file: index.displayName, reason: "shard \(quoted(index.index.shardFiles[listing.shard])) in the weight_map cannot be opened: \(error)")
        }
        return LoadedFile(planned: file, source: source, header: try readHeader(of: source))
    }

    /// Reads and validates the header of `source`, in one read for all but huge headers.
    func readHeader(of source: any ByteSource) throws(ModelError) -> SafetensorsHeader {
        let size = source.size
        let probe = try ModelError.reading { () throws(ByteSourceError) in
            try source.copyBytes(in: ByteRange(start: 0, end: min(size, ModelLoader.headerProbeSize)))
        }
        let length = try ModelError.parsing { () throws(SafetensorsError) in
            try probe.withUnsafeBufferPointer { (prefix) throws(SafetensorsError) -> UInt64 in
                try SafetensorsHeader.headerLength(prefix: UnsafeRawBufferPointer(prefix), fileSize: size, file: source.displayName)
            }
        }
        let headerEnd = SafetensorsHeader.prefixLength + length
        let json = headerEnd <= UInt64(probe.count)
            ? probe[Int(SafetensorsHeader.prefixLength)..<Int(headerEnd)]
            : try ModelError.reading { () throws(ByteSourceError) in
                try source.copyBytes(in: ByteRange(start: SafetensorsHeader.prefixLength, end: headerEnd))[...]
            }
        return try ModelError.parsing { () throws(SafetensorsError) in
            try json.withUnsafeBufferPointer { (text) throws(SafetensorsError) -> SafetensorsHeader in
                try SafetensorsHeader(json: UnsafeRawBufferPointer(text), fileSize: size, file: source.displayName)
            }
        }
    }
}

/// Headers read ahead, by the location of their file.
typealias ReadAhead = [String: LoadedHeader]

/// A file opened and its header read, before it is known to be part of the model.
struct LoadedHeader: Sendable {
    var source: any ByteSource
    var header: SafetensorsHeader
}
