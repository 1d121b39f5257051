/// A file of a Hub repository, as its listing gives it.
struct HubFile: Sendable, Hashable {
    /// Its path in the repository.
    var path: String
    /// Its size, when the listing gave it.
    var size: UInt64?
    /// Its git blob id, when the listing gave it.
    var blobID: String?
    /// The SHA-256 of a file in large-file storage, when the listing gave it.
    var sha256: String?
}

/// A repository at one commit, as the Hub's API lists it: what every path of a mount is
/// resolved against, so that a push during the mount never mixes versions.
struct HubSnapshot: Sendable {
    /// The commit the revision pointed at when it was listed.
    var commit: String
    /// Every file, by path.
    var files: [String: HubFile]

    /// What `path` is: a file, a folder (with the names of its entries, sorted by their
    /// bytes), or nothing.
    func entry(at path: String) -> Entry? {
        if files[path] != nil { return .file }
        let prefix = path.isEmpty ? "" : path + "/"
        var names = Set<String>()
        for filePath in files.keys where filePath.hasPrefix(prefix) {
            names.insert(String(filePath.dropFirst(prefix.count).prefix { $0 != "/" }))
        }
        return names.isEmpty ? nil : .folder(entries: names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// The files at any depth below folder `path`, relative to it, sorted by their bytes;
    /// those inside a folder named in `skipping` are left out.
    func files(below path: String, skipping: Set<String>) -> [String] {
        let prefix = path.isEmpty ? "" : path + "/"
        return files.keys.filter { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
            .filter { relative in !relative.split(separator: "/").dropLast().contains { skipping.contains(String($0)) } }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// What a path of a snapshot is.
    enum Entry: Equatable {
        case file
        case folder(entries: [String])
    }
}
