import ByteSources
import SafetensorsFormat

/// A file a SOURCE stands for, not yet opened.
struct PlannedFile: Sendable {
    /// Where the file is, as the loader opens it.
    var location: String
    /// How messages name the file (a URL without its credentials or query).
    var displayName: String
    /// The name shown to users, relative to the model.
    var relativeName: String
    /// Which SOURCE argument the file comes from.
    var source = 0
    /// The index that lists the file, if any.
    var listing: IndexListing?
}

/// Where an index lists a file: the index's position in `SourcePlan.indexes`, and the file's
/// position in that index's `shardFiles`.
struct IndexListing: Sendable, Hashable {
    var index: Int
    var shard: Int
}

/// A parsed index and where it was found.
struct PlannedIndex: Sendable {
    /// Where the index is, as the loader opens it.
    var location: String
    /// How messages name the index.
    var displayName: String
    /// The index's name relative to the model.
    var relativeName: String
    var index: ShardIndex
    /// The directory every shard must lie in, symlinks resolved; nil where that does not apply.
    var root: String?
}

/// A file that travels with the weights (a config, a tokenizer), not yet opened.
struct PlannedCompanion: Sendable {
    /// Where the file is, as the loader opens it.
    var location: String
    /// How messages name the file.
    var displayName: String
    /// Its path in the model's directory (components joined with `/`): where the mount shows it.
    var relativePath: String
    /// The directory the file must lie in, symlinks resolved; nil where that does not apply.
    var root: String?
}

/// What a SOURCE (or several merged) stands for: files, the indexes that describe them, and
/// the files that travel with them.
struct SourcePlan: Sendable {
    /// The model's name: its file or folder.
    var name: String
    var files: [PlannedFile]
    var indexes: [PlannedIndex] = []
    var companions: [PlannedCompanion] = []
    /// Oddities found while planning, each one line.
    var warnings: [String] = []

    /// One plan for several sources. Names relative to the model that two sources share are
    /// qualified with their source's name, or failing that, are their full display names.
    static func merging(_ plans: [SourcePlan], name: String) -> SourcePlan {
        if plans.count == 1 { return plans[0] }
        var files: [PlannedFile] = []
        var indexes: [PlannedIndex] = []
        var companions: [PlannedCompanion] = []
        var warnings: [String] = []
        var companionPaths: [Utf8Key: String] = [:]
        for (source, plan) in plans.enumerated() {
            warnings += plan.warnings
            for companion in plan.companions {
                if let first = companionPaths[Utf8Key(companion.relativePath)] {
                    warnings.append("\(companion.displayName): left out: \(first) is shown at \(quoted(companion.relativePath)) already")
                    continue
                }
                companionPaths[Utf8Key(companion.relativePath)] = companion.displayName
                companions.append(companion)
            }
            for var file in plan.files {
                file.source = source
                file.listing?.index += indexes.count
                files.append(file)
            }
            indexes += plan.indexes
        }
        let fileNames = disambiguated(files.map(\.relativeName), qualifiers: files.map { plans[$0.source].name }, displayNames: files.map(\.displayName))
        for position in files.indices { files[position].relativeName = fileNames[position] }
        let indexSources = plans.enumerated().flatMap { source, plan in plan.indexes.map { _ in source } }
        let indexNames = disambiguated(indexes.map(\.relativeName), qualifiers: indexSources.map { plans[$0].name }, displayNames: indexes.map(\.displayName))
        for position in indexes.indices { indexes[position].relativeName = indexNames[position] }
        return SourcePlan(name: name, files: files, indexes: indexes, companions: companions, warnings: warnings)
    }

    /// `names`, where each name that occurs more than once becomes `qualifier/name`, or its
    /// display name if that too occurs more than once.
    private static func disambiguated(_ names: [String], qualifiers: [String], displayNames: [String]) -> [String] {
        let qualified = replacingRepeated(names) { qualifiers[$0] + "/" + names[$0] }
        return replacingRepeated(qualified) { displayNames[$0] }
    }

    private static func replacingRepeated(_ names: [String], with replacement: (Int) -> String) -> [String] {
        var counts: [Utf8Key: Int] = [:]
        for name in names { counts[Utf8Key(name), default: 0] += 1 }
        return names.indices.map { counts[Utf8Key(names[$0])]! > 1 ? replacement($0) : names[$0] }
    }
}

/// An opened file with its validated header.
struct LoadedFile: Sendable {
    var planned: PlannedFile
    var source: any ByteSource
    var header: SafetensorsHeader
}
