import ByteSources
import SafetensorsFormat

/// Turns SOURCE arguments (files, indexes, directories) into logical models, checking every
/// header and every index against the shards before anything is mounted.
public struct ModelLoader: Sendable {
    /// The name of a Hugging Face shard index.
    public static let indexFileName = "model.safetensors.index.json"
    /// Index files are small; anything larger than this is refused rather than read.
    static let maximumIndexSize: UInt64 = 256 << 20
    /// The first read of a file, which holds the whole header of almost every file.
    static let headerProbeSize: UInt64 = 64 << 10

    private let locators: [any SourceLocator]

    /// Creates a loader that asks `locators` in order, then the local filesystem.
    public init(locators: [any SourceLocator] = []) {
        self.locators = locators + [LocalFiles()]
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

    // MARK: Planning

    private func locator(for location: String) -> any SourceLocator {
        locators.first { $0.handles(location) }!
    }

    /// Looks at one SOURCE and lists the files and index it stands for. While an index of a
    /// local directory is read, the headers of the directory's `.safetensors` files are read
    /// into `readAhead` on the other cores.
    private func plan(_ source: String, readingAheadInto readAhead: inout ReadAhead) throws(ModelError) -> SourcePlan {
        let locator = locator(for: source)
        let shown = locator.displayName(of: source)
        switch try locator.kind(of: source) {
        case .file:
            if shown.hasSuffix(".json") {
                let directory = LocalPath.parent(source)
                let siblings = localSafetensorsFiles(in: directory, entries: (try? OpenDirectory.open(directory).entryNames()) ?? [], locator: locator)
                return try planIndex(at: source, locator: locator, readingAhead: siblings, into: &readAhead)
            }
            var name = LocalPath.lastComponent(shown)
            let relativeName = name
            if name.hasSuffix(".safetensors") { name.removeLast(".safetensors".count) }
            return SourcePlan(name: name, files: [PlannedFile(location: source, displayName: shown, relativeName: relativeName)])
        case .directory(let entries):
            if let indexName = try indexName(in: shown, entries: entries) {
                let siblings = localSafetensorsFiles(in: source, entries: entries, locator: locator)
                return try planIndex(at: LocalPath.join(source, indexName), locator: locator, readingAhead: siblings, into: &readAhead)
            }
            let files = entries.filter { $0.hasSuffix(".safetensors") }
            guard !files.isEmpty else {
                throw .unusableSource(shown, reason: "the directory holds no .safetensors files and no \(ModelLoader.indexFileName)")
            }
            return SourcePlan(
                name: modelName(ofDirectory: source, locator: locator),
                files: files.map {
                    let location = LocalPath.join(source, $0)
                    return PlannedFile(location: location, displayName: locator.displayName(of: location), relativeName: $0)
                })
        }
    }

    /// The index a directory stands for: `model.safetensors.index.json`, else its only
    /// `*.safetensors.index.json`; nil when it has none.
    private func indexName(in directory: String, entries: [String]) throws(ModelError) -> String? {
        if entries.contains(ModelLoader.indexFileName) { return ModelLoader.indexFileName }
        let indexes = entries.filter { $0.hasSuffix(".safetensors.index.json") }
        guard indexes.count <= 1 else {
            throw .unusableSource(directory, reason: "the directory holds several indexes (\(indexes.map(quoted).joined(separator: ", "))); name the one to mount")
        }
        return indexes.first
    }

    private func planIndex(at location: String, locator: any SourceLocator) throws(ModelError) -> SourcePlan {
        let shown = locator.displayName(of: location)
        let index = try readIndex(at: location, locator: locator)
        guard !index.shardFiles.isEmpty else {
            throw .inconsistent(file: shown, reason: "the weight_map lists no tensors")
        }
        var files: [PlannedFile] = []
        for (shard, name) in index.shardFiles.enumerated() {
            let shardLocation = locator.sibling(of: location, relativePath: name)
            files.append(PlannedFile(
                location: shardLocation, displayName: locator.displayName(of: shardLocation), relativeName: name,
                listing: IndexListing(index: 0, shard: shard)))
        }
        let indexName = LocalPath.lastComponent(shown)
        var name = indexName
        if name == ModelLoader.indexFileName {
            name = modelName(ofDirectory: LocalPath.parent(location), locator: locator)
        } else if name.hasSuffix(".index.json") {
            name.removeLast(".index.json".count)
        }
        return SourcePlan(name: name, files: files, indexes: [PlannedIndex(
            location: location, displayName: shown, relativeName: indexName, index: index,
            root: modelRoot(ofIndexAt: location, locator: locator))])
    }

    private func readIndex(at location: String, locator: any SourceLocator) throws(ModelError) -> ShardIndex {
        let shown = locator.displayName(of: location)
        let source = try locator.open(location, displayName: shown)
        guard source.size <= ModelLoader.maximumIndexSize else {
            throw .unusableSource(shown, reason: "index of \(source.size) bytes is larger than the \(ModelLoader.maximumIndexSize)-byte limit")
        }
        let bytes = try ModelError.reading { () throws(ByteSourceError) in try source.copyBytes(in: ByteRange(start: 0, end: source.size)) }
        return try ModelError.parsing { () throws(SafetensorsError) in
            try bytes.withUnsafeBufferPointer { (json) throws(SafetensorsError) -> ShardIndex in try ShardIndex(json: UnsafeRawBufferPointer(json), file: shown) }
        }
    }

    /// A model's name after its directory as the user named it (resolved when that is `.` or
    /// `..`); for a snapshot of a Hugging Face hub cache, after the cached repository
    /// (`org--name` of `models--org--name`) rather than the revision.
    private func modelName(ofDirectory directory: String, locator: any SourceLocator) -> String {
        let resolved = locator.canonical(directory) ?? directory
        if let repository = HubCache.repository(ofSnapshot: resolved) {
            return String(LocalPath.lastComponent(repository).dropFirst(HubCache.repositoryPrefix.count))
        }
        let named = LocalPath.lastComponent(locator.displayName(of: directory))
        return named == "." || named == ".." ? LocalPath.lastComponent(locator.displayName(of: resolved)) : named
    }

    /// The directory every shard of the index at `location` must stay inside, symlinks
    /// resolved: the index's own directory, or, for a snapshot of a Hugging Face hub cache
    /// (`models--org--name/snapshots/REVISION/`, whose files link to `../../blobs/`), the
    /// cached repository. Nil when the notion does not apply to the locator.
    private func modelRoot(ofIndexAt location: String, locator: any SourceLocator) -> String? {
        guard let directory = locator.canonical(LocalPath.parent(location)) else { return nil }
        return HubCache.repository(ofSnapshot: directory) ?? directory
    }

    /// Plans the index at `location` while the headers of `candidates` (files that are likely
    /// its shards) are read, all at once; the headers read go into `readAhead`. A candidate
    /// that cannot be read is left out: if the index names it, it is read again, and its error
    /// is the one reported.
    private func planIndex(
        at location: String, locator: any SourceLocator, readingAhead candidates: [String], into readAhead: inout ReadAhead
    ) throws(ModelError) -> SourcePlan {
        guard !candidates.isEmpty else { return try planIndex(at: location, locator: locator) }
        enum Work: Sendable { case index, header(String) }
        enum Outcome: Sendable { case plan(SourcePlan), header(String, LoadedHeader?) }
        let loader = self
        let outcomes = try ([Work.index] + candidates.map(Work.header)).parallelMap { (work) throws(ModelError) -> Outcome in
            switch work {
            case .index:
                return .plan(try loader.planIndex(at: location, locator: locator))
            case .header(let candidate):
                let source = try? locator.open(candidate, displayName: locator.displayName(of: candidate))
                return .header(candidate, source.flatMap { source in (try? loader.readHeader(of: source)).map { LoadedHeader(source: source, header: $0) } })
            }
        }
        var plan: SourcePlan!
        for outcome in outcomes {
            switch outcome {
            case .plan(let planned): plan = planned
            case .header(let candidate, let header?): readAhead[candidate] = header
            case .header(_, nil): continue
            }
        }
        return plan
    }

    /// The `.safetensors` files among `entries` of a local `directory` (listed only when the
    /// locator is the local filesystem): beside an index, likely its shards.
    private func localSafetensorsFiles(in directory: String, entries: @autoclosure () -> [String], locator: any SourceLocator) -> [String] {
        guard locator is LocalFiles else { return [] }
        return entries().filter { $0.hasSuffix(".safetensors") }.map { LocalPath.join(directory, $0) }
    }

    // MARK: Loading

    private func load(_ plan: SourcePlan, readAhead: ReadAhead) throws(ModelError) -> LogicalModel {
        let loader = self
        // Files that wait on network round trips are opened many at a time.
        let width = plan.files.reduce(1) { max($0, locator(for: $1.location).concurrentOpens) }
        let loaded = try plan.files.parallelMap(width: width) { (file) throws(ModelError) -> LoadedFile in
            var loaded: LoadedFile
            if let early = readAhead[file.location] {
                loaded = LoadedFile(planned: file, source: early.source, header: early.header)
            } else {
                loaded = try loader.loadFile(file, of: plan)
            }
            try loader.checkInsideModel(loaded, of: plan)
            return loaded
        }
        return try ModelAssembly(plan: plan, files: loaded).assemble()
    }

    /// Fails when a shard an index names lies outside the model's directory. Checked on the
    /// file as opened, so that a symlink swapped after a check of the path cannot get past it.
    private func checkInsideModel(_ file: LoadedFile, of plan: SourcePlan) throws(ModelError) {
        guard let listing = file.planned.listing, let root = plan.indexes[listing.index].root else { return }
        let locator = locator(for: file.planned.location)
        guard let resolved = locator.resolvedLocation(ofOpened: file.source, at: file.planned.location),
              resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            let index = plan.indexes[listing.index]
            let place = locator.resolvedLocation(ofOpened: file.source, at: file.planned.location).map { "resolves to \(locator.displayName(of: $0))" } ?? "cannot be located"
            throw .inconsistent(file: index.displayName, reason: "the weight_map names shard \(quoted(index.index.shardFiles[listing.shard])), which \(place), outside the model's directory \(locator.displayName(of: root))")
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

/// The layout of a Hugging Face hub cache: `models--org--name/snapshots/REVISION/` holds links
/// to `models--org--name/blobs/`.
enum HubCache {
    /// How the folder of a cached model repository begins.
    static let repositoryPrefix = "models--"

    /// The cached repository's folder when `directory` is one of its snapshots, else nil.
    static func repository(ofSnapshot directory: String) -> String? {
        let snapshots = LocalPath.parent(directory)
        let repository = LocalPath.parent(snapshots)
        guard LocalPath.lastComponent(snapshots) == "snapshots",
              LocalPath.lastComponent(repository).hasPrefix(repositoryPrefix) else { return nil }
        return repository
    }
}
