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
        for source in sources { plans.append(try plan(source)) }
        let name = plans.count == 1 ? plans[0].name : "model"
        return try load(SourcePlan.merging(plans, name: name))
    }

    /// Loads each of `sources` as a model of its own, named after its file or folder.
    public func loadSeparately(_ sources: [String]) throws(ModelError) -> [LogicalModel] {
        var models: [LogicalModel] = []
        var usedNames = Set<String>()
        for source in sources {
            var plan = try plan(source)
            var candidate = plan.name
            var suffix = 2
            while !usedNames.insert(candidate).inserted {
                candidate = "\(plan.name)-\(suffix)"
                suffix += 1
            }
            plan.name = candidate
            models.append(try load(plan))
        }
        return models
    }

    // MARK: Planning

    private func locator(for location: String) -> any SourceLocator {
        locators.first { $0.handles(location) }!
    }

    /// Looks at one SOURCE and lists the files and index it stands for.
    private func plan(_ source: String) throws(ModelError) -> SourcePlan {
        let locator = locator(for: source)
        let shown = locator.displayName(of: source)
        switch try locator.kind(of: source) {
        case .file:
            if shown.hasSuffix(".json") {
                return try planIndex(at: source, locator: locator)
            }
            var name = LocalPath.lastComponent(shown)
            let relativeName = name
            if name.hasSuffix(".safetensors") { name.removeLast(".safetensors".count) }
            return SourcePlan(name: name, files: [PlannedFile(location: source, displayName: shown, relativeName: relativeName)])
        case .directory(let entries):
            let indexName = entries.contains(ModelLoader.indexFileName)
                ? ModelLoader.indexFileName
                : onlyElement(entries.filter { $0.hasSuffix(".safetensors.index.json") })
            if let indexName {
                return try planIndex(at: LocalPath.join(source, indexName), locator: locator)
            }
            let files = entries.filter { $0.hasSuffix(".safetensors") }
            guard !files.isEmpty else {
                throw .unusableSource(shown, reason: "the directory holds no .safetensors files and no \(ModelLoader.indexFileName)")
            }
            return SourcePlan(
                name: LocalPath.lastComponent(shown),
                files: files.map {
                    let location = LocalPath.join(source, $0)
                    return PlannedFile(location: location, displayName: locator.displayName(of: location), relativeName: $0)
                })
        }
    }

    private func planIndex(at location: String, locator: any SourceLocator) throws(ModelError) -> SourcePlan {
        let shown = locator.displayName(of: location)
        let source = try locator.open(location, displayName: shown)
        guard source.size <= ModelLoader.maximumIndexSize else {
            throw .unusableSource(shown, reason: "index of \(source.size) bytes is larger than the \(ModelLoader.maximumIndexSize)-byte limit")
        }
        let index: ShardIndex
        do {
            let bytes = try source.copyBytes(in: ByteRange(start: 0, end: source.size))
            index = try bytes.withUnsafeBytes { (json) throws(SafetensorsError) -> ShardIndex in
                try ShardIndex(json: json, file: shown)
            }
        } catch let error as ByteSourceError {
            throw .source(error)
        } catch let error as SafetensorsError {
            throw .format(error)
        } catch {
            throw .unusableSource(shown, reason: "\(error)")
        }
        let directory = locator.canonical(LocalPath.parent(location))
        var files: [PlannedFile] = []
        for shard in index.shardFiles {
            let shardLocation = locator.sibling(of: location, relativePath: shard)
            if let directory, let resolved = locator.canonical(shardLocation),
               !resolved.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") {
                throw .inconsistent(file: shown, reason: "shard \(quotedName(shard)) resolves to \(locator.displayName(of: resolved)), outside the model's directory \(locator.displayName(of: directory))")
            }
            files.append(PlannedFile(
                location: shardLocation, displayName: locator.displayName(of: shardLocation), relativeName: shard,
                listing: (location, shown, shard)))
        }
        var name = LocalPath.lastComponent(shown)
        if name == ModelLoader.indexFileName {
            name = LocalPath.lastComponent(locator.canonical(LocalPath.parent(location)).map(locator.displayName(of:)) ?? LocalPath.parent(shown))
        } else if name.hasSuffix(".index.json") {
            name.removeLast(".index.json".count)
        }
        return SourcePlan(name: name, files: files, indexes: [PlannedIndex(location: location, displayName: shown, index: index)])
    }

    // MARK: Loading

    private func load(_ plan: SourcePlan) throws(ModelError) -> LogicalModel {
        let locators = self
        let width = plan.files.reduce(1) { max($0, locator(for: $1.location).concurrentOpens) }
        let loaded = try plan.files.parallelMap(width: width) { (file) throws(ModelError) -> LoadedFile in
            try locators.loadFile(file)
        }
        return try ModelAssembly(plan: plan, files: loaded).assemble()
    }

    private func loadFile(_ file: PlannedFile) throws(ModelError) -> LoadedFile {
        let source: any ByteSource
        do {
            source = try locator(for: file.location).open(file.location, displayName: file.displayName)
        } catch {
            guard let listing = file.listing else { throw error }
            throw .inconsistent(file: listing.indexDisplayName, reason: "shard \(quotedName(listing.weightMapName)) in the weight_map cannot be opened: \(error)")
        }
        do {
            return LoadedFile(planned: file, source: source, header: try readHeader(of: source))
        } catch let error as ByteSourceError {
            throw .source(error)
        } catch let error as SafetensorsError {
            throw .format(error)
        } catch {
            throw .unusableSource(file.displayName, reason: "\(error)")
        }
    }

    /// Reads and validates the header of `source`, in one read for all but huge headers.
    func readHeader(of source: any ByteSource) throws -> SafetensorsHeader {
        let size = source.size
        let probe = try source.copyBytes(in: ByteRange(start: 0, end: min(size, ModelLoader.headerProbeSize)))
        let length = try probe.withUnsafeBytes { (prefix) throws(SafetensorsError) -> UInt64 in
            try SafetensorsHeader.headerLength(prefix: prefix, fileSize: size, file: source.displayName)
        }
        let headerEnd = SafetensorsHeader.prefixLength + length
        let json = headerEnd <= UInt64(probe.count)
            ? Array(probe[Int(SafetensorsHeader.prefixLength)..<Int(headerEnd)])
            : try source.copyBytes(in: ByteRange(start: SafetensorsHeader.prefixLength, end: headerEnd))
        return try json.withUnsafeBytes { (text) throws(SafetensorsError) -> SafetensorsHeader in
            try SafetensorsHeader(json: text, fileSize: size, file: source.displayName)
        }
    }

    private func onlyElement(_ names: [String]) -> String? {
        names.count == 1 ? names[0] : nil
    }
}

/// A file a SOURCE stands for, not yet opened.
struct PlannedFile: Sendable {
    var location: String
    /// How messages name the file (a URL without its credentials or query).
    var displayName: String
    /// The name shown to users, relative to the model.
    var relativeName: String
    /// The index that lists the file (its location and how messages name it), and the file's
    /// name in its `weight_map`.
    var listing: (index: String, indexDisplayName: String, weightMapName: String)?
}

/// A parsed index and where it was found.
struct PlannedIndex: Sendable {
    var location: String
    /// How messages name the index.
    var displayName: String
    var index: ShardIndex

}

/// What a SOURCE (or several merged) stands for: files and the indexes that describe them.
struct SourcePlan: Sendable {
    var name: String
    var files: [PlannedFile]
    var indexes: [PlannedIndex] = []

    /// One plan for several sources; files that share a relative name keep their full location.
    static func merging(_ plans: [SourcePlan], name: String) -> SourcePlan {
        if plans.count == 1 { return plans[0] }
        var files = plans.flatMap(\.files)
        var counts: [String: Int] = [:]
        for file in files { counts[file.relativeName, default: 0] += 1 }
        for position in files.indices where counts[files[position].relativeName]! > 1 {
            files[position].relativeName = files[position].displayName
        }
        return SourcePlan(name: name, files: files, indexes: plans.flatMap(\.indexes))
    }
}

/// An opened file with its validated header.
struct LoadedFile: Sendable {
    var planned: PlannedFile
    var source: any ByteSource
    var header: SafetensorsHeader
}

/// A name in backquotes for messages.
func quotedName(_ name: String) -> String {
    "`" + name.unicodeScalars.map { $0.value < 0x20 ? $0.escaped(asASCII: true) : String($0) }.joined() + "`"
}
