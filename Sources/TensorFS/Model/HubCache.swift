import ByteSources
import SafetensorsFormat
import SystemPackage

/// The layout of a Hugging Face hub cache: a repository's folder `models--ORG--NAME/` holds
/// `refs/BRANCH` (each a commit hash), `snapshots/COMMIT/` (the files of that commit, as
/// relative links into `../../blobs/`) and `blobs/`.
enum HubCache {
    /// How the folder of a cached model repository begins.
    static let repositoryPrefix = "models--"
    /// The branch a repository is mounted at unless another revision is asked for.
    static let defaultBranch = "main"

    /// The cached repository's folder when `directory` is one of its snapshots, else nil.
    static func repository(ofSnapshot directory: String) -> String? {
        let snapshots = LocalPath.parent(directory)
        let repository = LocalPath.parent(snapshots)
        guard LocalPath.lastComponent(snapshots) == "snapshots",
              LocalPath.lastComponent(repository).hasPrefix(repositoryPrefix) else { return nil }
        return repository
    }

    /// Whether a directory with `entries` is a cached repository's folder.
    static func isRepository(entries: [String]) -> Bool {
        entries.contains("snapshots") && (entries.contains("refs") || entries.contains("blobs"))
    }

    /// The snapshot folder to mount of the cached repository at `folder`: the commit that
    /// `refs/REVISION` names (REVISION is `main` unless given), or the snapshot named REVISION
    /// (a commit hash); without a revision and without `refs/main`, the only snapshot. Fails
    /// with the snapshots and branches there are when none of these is found.
    static func snapshot(of folder: String, revision: String?) throws(ModelError) -> String {
        let shown = folder
        do {
            let repository = try OpenDirectory.open(folder)
            let snapshots = try repository.openDirectory(named: "snapshots").entryNames()
            let wanted = revision ?? defaultBranch
            if let commit = try commit(ofBranch: wanted, in: repository), snapshots.contains(commit) {
                return LocalPath.join(LocalPath.join(folder, "snapshots"), commit)
            }
            if revision != nil, snapshots.contains(wanted) {
                return LocalPath.join(LocalPath.join(folder, "snapshots"), wanted)
            }
            if revision == nil, snapshots.count == 1 {
                return LocalPath.join(LocalPath.join(folder, "snapshots"), snapshots[0])
            }
            let listed = snapshots.isEmpty ? "it has no snapshots" : "its snapshots are \(snapshots.map(quoted).joined(separator: ", "))"
            let branches = (try? repository.openDirectory(named: "refs").entryNames()) ?? []
            let refs = branches.isEmpty ? "" : " and its branches \(branches.map(quoted).joined(separator: ", "))"
            let ask = revision.map { "has no revision \(quoted($0)): " } ?? "has no refs/\(defaultBranch): "
            throw ModelError.unusableSource(shown, reason: "this Hugging Face cache folder \(ask)\(listed)\(refs); choose one with --revision")
        } catch let error as ModelError {
            throw error
        } catch {
            throw .unusableSource(shown, reason: "cannot read the Hugging Face cache folder: \(error)")
        }
    }

    /// The snapshot folder (or its folder or file) that `query` names in the local cache, when
    /// it holds the model whole enough to mount without the network: every file there is whole
    /// (no link dangles, as one whose download never finished would), and the weights are there
    /// (an index and every shard it names, else `.safetensors` files). Otherwise why not, one
    /// phrase. A snapshot cannot tell which other files the repository holds: a file never
    /// downloaded into it (a tokenizer) is not missed.
    static func completeSnapshot(for query: HubCacheQuery) -> Result<CheckedSnapshot, SnapshotShortfall> {
        let folder = LocalPath.join(query.cacheDirectory, query.repositoryFolder)
        guard let repository = try? OpenDirectory.open(folder) else {
            return .failure(SnapshotShortfall(description: "the local cache \(query.cacheDirectory) holds no \(query.repositoryFolder)"))
        }
        let revision = query.revision ?? defaultBranch
        let snapshots = (try? repository.openDirectory(named: "snapshots").entryNames()) ?? []
        let commit: String
        if let named = try? self.commit(ofBranch: revision, in: repository), snapshots.contains(named) {
            commit = named
        } else if snapshots.contains(revision) {
            commit = revision
        } else {
            return .failure(SnapshotShortfall(description: "the local cache folder \(folder) has no snapshot of revision \(quoted(revision))"))
        }
        let snapshot = LocalPath.join(LocalPath.join(folder, "snapshots"), commit)
        let mounted = query.subfolder.isEmpty ? snapshot : LocalPath.join(snapshot, query.subfolder)
        let files: [String]
        do {
            if try LocalPath.kind(of: mounted) == .file { return .success(CheckedSnapshot(location: mounted)) }
            files = try LocalFiles().files(below: mounted, skipping: CompanionRules.skippedDirectories)
        } catch {
            return .failure(SnapshotShortfall(description: "the snapshot \(snapshot) has no file or folder \(quoted(query.subfolder))"))
        }
        for file in files where (try? LocalPath.kind(of: LocalPath.join(mounted, file))) != .file {
            return .failure(SnapshotShortfall(description: "the file \(quoted(file)) of the snapshot \(snapshot) is not whole (a link to a blob that is not there: an interrupted download?)"))
        }
        let topFiles = Set(files.filter { !$0.contains("/") })
        // Several indexes are for the planning to refuse, naming them.
        guard let index = try? ModelLoader.indexName(in: mounted, entries: Array(topFiles)) else {
            return topFiles.contains(where: { $0.hasSuffix(".safetensors") })
                ? .success(CheckedSnapshot(location: mounted, files: files))
                : .failure(SnapshotShortfall(description: "the snapshot \(mounted) holds no .safetensors weights"))
        }
        let shown = LocalPath.join(mounted, index)
        guard let parsed = try? ModelLoader.readIndex(at: shown, locator: LocalFiles()) else {
            return .failure(SnapshotShortfall(description: "the index \(shown) in the local cache cannot be read"))
        }
        if let missing = parsed.shardFiles.first(where: { !topFiles.contains($0) && (try? LocalPath.kind(of: LocalPath.join(mounted, $0))) != .file }) {
            return .failure(SnapshotShortfall(description: "the snapshot \(mounted) lacks the shard \(quoted(missing)) its index names"))
        }
        return .success(CheckedSnapshot(location: mounted, files: files, index: (shown, parsed)))
    }

    /// A snapshot (or a folder or file of it) whole enough to mount, with what checking it
    /// found, for the planning to use rather than find again.
    struct CheckedSnapshot {
        /// The snapshot folder, or the folder or file of it asked for.
        var location: String
        /// For a folder, the files below it as its companions are listed
        /// (`LocalFiles().files(below:skipping:)` with the skipped directories).
        var files: [String]? = nil
        /// For a folder with an index, the index's location and what it says.
        var index: (location: String, index: ShardIndex)? = nil
    }

    /// Why a snapshot in the local cache is not enough to mount: one phrase.
    struct SnapshotShortfall: Error, CustomStringConvertible {
        var description: String
    }

    /// The commit hash that branch `name` (a path below `refs/`, e.g. `main` or `pr/1`) names,
    /// or nil when there is no such branch or it holds no hash.
    private static func commit(ofBranch name: String, in repository: OpenDirectory) throws -> String? {
        let components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        var directory = try repository.openDirectory(named: "refs")
        for component in components.dropLast() {
            guard let next = try? directory.openDirectory(named: component) else { return nil }
            directory = next
        }
        guard let bytes = try? SmallFile.read(components.last!, in: directory, limit: 4096) else { return nil }
        let words = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard words.count == 1, words[0].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return String(words[0])
    }
}
