import SafetensorsFormat

/// Lists a repository of the Hub at a revision, as `huggingface_hub` does: the revision's
/// commit and files from `/api/models/ORG/NAME/revision/REVISION?blobs=true`, and, where that
/// gives no sizes (some mirrors), the files from the tree API at the commit.
struct HubListing {
    let settings: HubSettings
    let transport: any Transport
    let policy: RetryPolicy

    /// `location`'s repository at its revision: the commit the revision points at now, and
    /// every file of that commit.
    func snapshot(of location: HubLocation) throws(ListingFailure) -> HubSnapshot {
        let id = PercentEncoding.encodePath(location.repository.id)
        let info = try document("/api/models/\(id)/revision/\(PercentEncoding.encode(location.effectiveRevision))?blobs=true", about: location)
        guard let commit = info["sha"]?.string, !commit.isEmpty, commit.utf8.allSatisfy(Self.isHashByte) else {
            throw ListingFailure(description: "the Hub's answer about the revision names no commit (sha)")
        }
        var files = (info["siblings"]?.array ?? []).compactMap { sibling -> HubFile? in
            guard let path = sibling["rfilename"]?.string else { return nil }
            return HubFile(path: path, size: sibling["size"]?.unsignedInteger, blobID: sibling["blobId"]?.string, sha256: sibling["lfs"]?["sha256"]?.string)
        }
        if files.isEmpty || files.contains(where: { $0.size == nil }) {
            let tree = try document("/api/models/\(id)/tree/\(commit)?recursive=true", about: location)
            guard let entries = tree.array else { throw ListingFailure(description: "the Hub's tree of commit \(commit) is not a list") }
            files = entries.compactMap { entry -> HubFile? in
                guard entry["type"]?.string == "file", let path = entry["path"]?.string else { return nil }
                return HubFile(path: path, size: entry["size"]?.unsignedInteger, blobID: entry["oid"]?.string, sha256: entry["lfs"]?["oid"]?.string)
            }
        }
        return HubSnapshot(commit: commit, files: Dictionary(files.map { ($0.path, $0) }) { first, _ in first })
    }

    private func document(_ path: String, about location: HubLocation) throws(ListingFailure) -> JSONValue {
        let endpoint = HubEndpoint(document: path, about: location, settings: settings)
        switch RetryLoop.run(DocumentFetch(endpoint: endpoint), transport: transport, policy: policy) {
        case .success(let body):
            do {
                return try JSONValue(parsing: body)
            } catch {
                throw ListingFailure(description: "the Hub's answer to \(path.prefix { $0 != "?" }) is \(error)")
            }
        case .failure(let failure):
            throw ListingFailure(description: failure.description)
        }
    }

    private static func isHashByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
}
