import ByteSources

/// `hf://ORG/NAME[@REVISION][/PATH]` sources: a model repository of the Hugging Face Hub (or a
/// folder or file of it), read through the Hub's HTTP API at the commit its revision points at
/// when mounted. The loader looks in the local Hugging Face cache first (`hubCacheQuery`).
struct HubLocator: SourceLocator {
    let context: RemoteContext

    func handles(_ location: String) -> Bool {
        location.hasPrefix(HubLocation.scheme)
    }

    func kind(of location: String) throws(ModelError) -> LocationKind {
        let (place, snapshot) = try resolve(location)
        switch snapshot.entry(at: place.path) {
        case .file: return .file
        case .folder(let entries):
            context.report(.listed(location: place.text, objects: snapshot.files(below: place.path, skipping: []).count))
            return .directory(entries: entries)
        case nil:
            let what = place.path.isEmpty ? "no files" : "no file or folder \(quoted(place.path))"
            throw .unusableSource(place.text, reason: "commit \(snapshot.commit) of the repository has \(what)")
        }
    }

    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource {
        let (place, snapshot) = try resolve(location)
        guard let file = snapshot.files[place.path] else {
            throw .source(ByteSourceError(source: displayName, reason: .remote(detail: "commit \(snapshot.commit) of the repository has no such file")))
        }
        let settings = try settings(for: place)
        let endpoint = HubEndpoint(file: file, at: snapshot.commit, shownAs: place, settings: settings)
        let source: any ByteSource
        if let whole = WholeObjectSource.cached(endpoint, context: context) {
            source = whole
        } else {
            source = try ModelError.reading { () throws(ByteSourceError) in try RemoteObjectSource.open(endpoint, context: context) }
        }
        context.report(.fetchedHeader(object: displayName))
        return source
    }

    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] {
        let (place, snapshot) = try resolve(location)
        return snapshot.files(below: place.path, skipping: skipping)
    }

    func canonical(_ location: String) -> String? {
        (try? HubLocation(parsing: location))?.text
    }

    func sibling(of base: String, relativePath: String) -> String {
        guard let place = try? HubLocation(parsing: base) else { return base + "/" + relativePath }
        return place.sibling(relativePath).text
    }

    func displayName(of location: String) -> String {
        (try? HubLocation(parsing: location))?.text ?? location
    }

    var concurrentOpens: Int { 64 }

    func hubCacheQuery(for location: String) throws(ModelError) -> HubCacheQuery? {
        let place = try parse(location)
        let settings = try settings(for: place)
        return HubCacheQuery(
            cacheDirectory: settings.cacheDirectory,
            repositoryFolder: "models--\(place.repository.organization)--\(place.repository.name)",
            revision: place.revision, subfolder: place.path, offline: settings.offline)
    }

    private func resolve(_ location: String) throws(ModelError) -> (HubLocation, HubSnapshot) {
        let place = try parse(location)
        return (place, try context.hubResolver.snapshot(of: place, transport: context.transport, policy: context.mountPolicy))
    }

    private func parse(_ location: String) throws(ModelError) -> HubLocation {
        do {
            return try HubLocation(parsing: location)
        } catch {
            throw .unusableSource(location, reason: "bad Hugging Face location: \(error)")
        }
    }

    private func settings(for place: HubLocation) throws(ModelError) -> HubSettings {
        do {
            return try context.hubResolver.settings()
        } catch {
            throw .unusableSource(place.text, reason: error.description)
        }
    }
}
