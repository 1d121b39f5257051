import ByteSources
import SafetensorsFormat

/// Finding what a SOURCE stands for: a file, an index and its shards, or a directory (its index
/// or its `.safetensors` files, and the files that travel with them); a Hugging Face cache
/// folder stands for one of its snapshots.
extension ModelLoader {
    /// Looks at one SOURCE and lists the files, index and companion files it stands for. While
    /// an index of a local directory is read, the headers of the directory's `.safetensors`
    /// files are read into `readAhead` on the other cores. A snapshot of the local Hugging Face
    /// cache comes `checked`: its files are not listed, nor its index read, again.
    func plan(_ source: String, readingAheadInto readAhead: inout ReadAhead, checked: HubCache.CheckedSnapshot? = nil) throws(ModelError) -> SourcePlan {
        let locator = locator(for: source)
        let shown = locator.displayName(of: source)
        if let query = try locator.hubCacheQuery(for: source) {
            guard options.revision == nil else {
                throw .unusableSource(shown, reason: "--revision is for Hugging Face cache folders; name the revision in the source instead (hf://ORG/NAME@REVISION)")
            }
            switch HubCache.completeSnapshot(for: query) {
            case .success(let snapshot):
                return try plan(snapshot.location, readingAheadInto: &readAhead, checked: snapshot)
            case .failure(let shortfall) where query.offline:
                throw .unusableSource(shown, reason: "HF_HUB_OFFLINE is set, and \(shortfall)")
            case .failure:
                break
            }
        }
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
            if locator is LocalFiles && HubCache.isRepository(entries: entries) {
                return try plan(HubCache.snapshot(of: source, revision: options.revision), readingAheadInto: &readAhead)
            }
            var plan: SourcePlan
            if let indexName = try Self.indexName(in: shown, entries: entries) {
                let siblings = localSafetensorsFiles(in: source, entries: entries, locator: locator)
                plan = try planIndex(at: LocalPath.join(source, indexName), locator: locator, read: checked?.index, readingAhead: siblings, into: &readAhead)
            } else {
                let files = entries.filter { $0.hasSuffix(".safetensors") }
                guard !files.isEmpty else {
                    throw .unusableSource(shown, reason: "the directory holds no .safetensors files and no \(ModelLoader.indexFileName)")
                }
                plan = SourcePlan(
                    name: modelName(ofDirectory: source, locator: locator),
                    files: files.map {
                        let location = LocalPath.join(source, $0)
                        return PlannedFile(location: location, displayName: locator.displayName(of: location), relativeName: $0)
                    })
            }
            // An index's planning already found where the directory really is.
            let root = plan.indexes.first?.root ?? modelRoot(ofDirectory: source, locator: locator)
            try planCompanions(of: source, root: root, locator: locator, listed: checked?.files, into: &plan)
            return plan
        }
    }

    /// Adds the companion files of directory `source` to `plan`: every file below it that the
    /// rules let through, to be shown at the same path; each must lie inside `root`. The files
    /// below it are `listed` already, or listed here.
    private func planCompanions(of source: String, root: String?, locator: any SourceLocator, listed: [String]?, into plan: inout SourcePlan) throws(ModelError) {
        let files: [String]
        if let listed {
            files = listed
        } else {
            files = try locator.files(below: source, skipping: CompanionRules.skippedDirectories)
        }
        for path in files {
            let location = locator.sibling(of: LocalPath.join(source, "-"), relativePath: path)
            switch CompanionRules.exclusion(of: path, includesOtherWeights: options.includesOtherWeights) {
            case nil:
                plan.companions.append(PlannedCompanion(location: location, displayName: locator.displayName(of: location), relativePath: path, root: root))
            case .generatedFile, .rankDirectory:
                plan.warnings.append("\(locator.displayName(of: location)): left out: the mount shows a file of its own at \(quoted(path))")
            case .invalidPath:
                plan.warnings.append("\(locator.displayName(of: location)): left out: \(quoted(path)) is not a path a file can have")
            case .safetensorsWeights, .otherWeights:
                continue
            }
        }
    }

    /// The index a directory stands for: `model.safetensors.index.json`, else its only
    /// `*.safetensors.index.json`; nil when it has none.
    static func indexName(in directory: String, entries: [String]) throws(ModelError) -> String? {
        if entries.contains(ModelLoader.indexFileName) { return ModelLoader.indexFileName }
        let indexes = entries.filter { $0.hasSuffix(".safetensors.index.json") }
        guard indexes.count <= 1 else {
            throw .unusableSource(directory, reason: "the directory holds several indexes (\(indexes.map(quoted).joined(separator: ", "))); name the one to mount")
        }
        return indexes.first
    }

    /// Plans the index at `location`, which is read unless it is the one `read` already.
    private func planIndex(at location: String, locator: any SourceLocator, read: (location: String, index: ShardIndex)?) throws(ModelError) -> SourcePlan {
        let shown = locator.displayName(of: location)
        let index: ShardIndex
        if let read, read.location == location {
            index = read.index
        } else {
            index = try Self.readIndex(at: location, locator: locator)
        }
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
            root: modelRoot(ofDirectory: LocalPath.parent(location), locator: locator))])
    }

    /// The index at `location`, read whole (up to `maximumIndexSize`) and parsed.
    static func readIndex(at location: String, locator: any SourceLocator) throws(ModelError) -> ShardIndex {
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
    /// `..`); for a Hugging Face repository (`hf://`, or a snapshot of a hub cache), after the
    /// repository (`org--name` of `models--org--name`) rather than the revision.
    private func modelName(ofDirectory directory: String, locator: any SourceLocator) -> String {
        if let query = try? locator.hubCacheQuery(for: directory), query.subfolder.isEmpty {
            return String(query.repositoryFolder.dropFirst(HubCache.repositoryPrefix.count))
        }
        let resolved = locator.canonical(directory) ?? directory
        if let repository = HubCache.repository(ofSnapshot: resolved) {
            return String(LocalPath.lastComponent(repository).dropFirst(HubCache.repositoryPrefix.count))
        }
        let named = LocalPath.lastComponent(locator.displayName(of: directory))
        return named == "." || named == ".." ? LocalPath.lastComponent(locator.displayName(of: resolved)) : named
    }

    /// The directory every file of the model in `directory` must stay inside, symlinks
    /// resolved: the directory itself, or, for a snapshot of a Hugging Face hub cache
    /// (`models--org--name/snapshots/REVISION/`, whose files link to `../../blobs/`), the
    /// cached repository. Nil when the notion does not apply to the locator.
    private func modelRoot(ofDirectory directory: String, locator: any SourceLocator) -> String? {
        guard let resolved = locator.canonical(directory) else { return nil }
        return HubCache.repository(ofSnapshot: resolved) ?? resolved
    }

    /// Plans the index at `location` while the headers of `candidates` (files that are likely
    /// its shards) are read, all at once; the headers read go into `readAhead`. A candidate
    /// that cannot be read is left out: if the index names it, it is read again, and its error
    /// is the one reported.
    private func planIndex(
        at location: String, locator: any SourceLocator, read: (location: String, index: ShardIndex)? = nil,
        readingAhead candidates: [String], into readAhead: inout ReadAhead
    ) throws(ModelError) -> SourcePlan {
        guard !candidates.isEmpty else { return try planIndex(at: location, locator: locator, read: read) }
        enum Work: Sendable { case index, header(String) }
        enum Outcome: Sendable { case plan(SourcePlan), header(String, LoadedHeader?) }
        let loader = self
        let outcomes = try ([Work.index] + candidates.map(Work.header)).parallelMap { (work) throws(ModelError) -> Outcome in
            switch work {
            case .index:
                return .plan(try loader.planIndex(at: location, locator: locator, read: read))
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
}
