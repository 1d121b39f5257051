import ByteSources


/// `s3://BUCKET/KEY` sources (an object: a file or an index) and `s3://BUCKET/PREFIX/` (a
/// directory: its index if there is one, else its `.safetensors` objects).
struct S3Locator: SourceLocator {
    let context: RemoteContext

    func handles(_ location: String) -> Bool {
        location.hasPrefix("s3://")
    }

    func kind(of location: String) throws(ModelError) -> LocationKind {
        let parsed = try self.location(location)
        guard parsed.isPrefix else { return .file }
        let names = try list(parsed).filter { !$0.contains("/") }
        guard !names.isEmpty else { throw .unusableSource(location, reason: "no objects under this prefix") }
        context.report(.listed(location: location, objects: names.count))
        return .directory(entries: names)
    }

    /// Every object below the prefix, at any depth: keys are paths, and "folders" exist only in
    /// them, so nothing is skipped but the objects inside the folders in `skipping`.
    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] {
        let prefix = try self.location(location.hasSuffix("/") ? location : location + "/")
        return try list(prefix).filter { name in
            !name.split(separator: "/").dropLast().contains { skipping.contains(String($0)) }
        }
    }

    /// Every object below `prefix`, at any depth, listed once per context: `kind` and
    /// `files(below:)` of one directory share the listing.
    private func list(_ prefix: S3Location) throws(ModelError) -> [String] {
        let settings = try settings(for: prefix.text)
        return try context.s3Listings.names(below: prefix) { () throws(ModelError) -> [String] in
            do throws(ListingFailure) {
                return try S3Listing(settings: settings, transport: context.transport, policy: context.mountPolicy).names(in: prefix)
            } catch {
                throw .unusableSource(prefix.text, reason: "cannot list the prefix: \(error.description)")
            }
        }
    }

    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource {
        let endpoint = S3ObjectEndpoint(location: try self.location(location), settings: try settings(for: location))
        let source = try ModelError.reading { () throws(ByteSourceError) in try RemoteObjectSource.open(endpoint, context: context) }
        context.report(.fetchedHeader(object: displayName))
        return source
    }

    func canonical(_ location: String) -> String? {
        guard let parsed = try? S3Location(parsing: location) else { return nil }
        return "s3://\(parsed.bucket)" + RemoteURL.removingDotSegments("/" + parsed.key)
    }

    func sibling(of base: String, relativePath: String) -> String {
        guard let parsed = try? S3Location(parsing: base) else { return base + "/" + relativePath }
        let directory = parsed.key.lastIndex(of: "/").map { String(parsed.key[...$0]) } ?? ""
        return S3Location(bucket: parsed.bucket, key: directory + relativePath).text
    }

    var concurrentOpens: Int { 64 }

    private func location(_ text: String) throws(ModelError) -> S3Location {
        do {
            return try S3Location(parsing: text)
        } catch {
            throw .unusableSource(text, reason: "bad S3 location: \(error)")
        }
    }

    private func settings(for location: String) throws(ModelError) -> AWSSettings {
        do {
            return try context.aws()
        } catch {
            throw .unusableSource(location, reason: error.description)
        }
    }
}
