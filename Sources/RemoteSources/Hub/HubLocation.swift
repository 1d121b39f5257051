/// A model repository on the Hugging Face Hub: `ORG/NAME`.
struct HubRepository: Hashable, Sendable {
    /// The user or organization that owns it.
    var organization: String
    /// Its name.
    var name: String

    /// `ORG/NAME`, as the Hub's URLs spell it.
    var id: String { "\(organization)/\(name)" }
}

/// A place in a model repository on the Hugging Face Hub, as `huggingface_hub`'s file system
/// names it: `hf://ORG/NAME[@REVISION][/PATH]` (`hf://models/ORG/NAME...` too). REVISION is a
/// branch, a tag or a commit hash, percent-encoded where it holds `/` (`refs/pr/N` and
/// `refs/convert/NAME` may stand as they are); PATH is a folder or a file in the repository.
struct HubLocation: Hashable, Sendable {
    /// The repository.
    var repository: HubRepository
    /// The revision asked for, decoded; nil for the default branch.
    var revision: String?
    /// The path in the repository: components joined with `/`, empty for its top.
    var path: String

    /// The scheme of Hub locations.
    static let scheme = "hf://"
    /// The branch a repository is read at unless a revision is named.
    static let defaultRevision = "main"
    /// Repository types `huggingface_hub` knows besides models, which tensorfs does not mount.
    private static let otherTypes = ["datasets", "spaces", "kernels", "buckets"]

    /// Parses `hf://...`.
    init(parsing text: String) throws(RemoteURL.ParseError) {
        guard text.hasPrefix(Self.scheme) else { throw RemoteURL.ParseError(description: "not an hf:// location") }
        var body = Substring(text.dropFirst(Self.scheme.count))
        let firstSegment = body.prefix { $0 != "/" }
        if Self.otherTypes.contains(String(firstSegment)) {
            throw RemoteURL.ParseError(description: "\(quoted(String(firstSegment))) are not model repositories; tensorfs mounts models (hf://ORG/NAME)")
        }
        if firstSegment == "models" { body = body.dropFirst("models".count) }
        while body.hasPrefix("/") { body = body.dropFirst() }
        while body.hasSuffix("/") { body = body.dropLast() }
        let repositoryText: Substring
        var pathText: Substring = ""
        if let at = body.firstIndex(of: "@"), body[..<at].filter({ $0 == "/" }).count <= 1 {
            repositoryText = body[..<at]
            let afterAt = body[body.index(after: at)...]
            let revisionText: Substring
            if let special = Self.specialReference(in: afterAt) {
                revisionText = special
                pathText = afterAt[special.endIndex...].drop { $0 == "/" }
            } else if let slash = afterAt.firstIndex(of: "/") {
                revisionText = afterAt[..<slash]
                pathText = afterAt[afterAt.index(after: slash)...]
            } else {
                revisionText = afterAt
            }
            guard let decoded = PercentEncoding.decode(String(revisionText)), !decoded.isEmpty else {
                throw RemoteURL.ParseError(description: "bad revision \(quoted(String(revisionText))) after '@'")
            }
            revision = decoded
        } else {
            let parts = body.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else {
                throw RemoteURL.ParseError(description: "a repository is named ORG/NAME, as in hf://ORG/NAME")
            }
            repositoryText = body[..<parts[1].endIndex]
            pathText = parts.count > 2 ? parts[2] : ""
            revision = nil
        }
        repository = try Self.parseRepository(String(repositoryText))
        let components = pathText.split(separator: "/")
        guard !components.contains(where: { $0 == "." || $0 == ".." }) else {
            throw RemoteURL.ParseError(description: "the path \(quoted(String(pathText))) holds '.' or '..'")
        }
        path = components.joined(separator: "/")
    }

    /// The location of `path` in `repository` at `revision`.
    init(repository: HubRepository, revision: String?, path: String) {
        self.repository = repository
        self.revision = revision
        self.path = path
    }

    /// The revision to read: the one named, else the default branch.
    var effectiveRevision: String { revision ?? Self.defaultRevision }

    /// `hf://ORG/NAME[@REVISION][/PATH]`, the revision percent-encoded.
    var text: String {
        Self.scheme + repository.id + (revision.map { "@" + PercentEncoding.encode($0) } ?? "") + (path.isEmpty ? "" : "/" + path)
    }

    /// The location of `relativePath` (which may hold `..`) beside the file at this location;
    /// it never climbs above the repository's top.
    func sibling(_ relativePath: String) -> HubLocation {
        let directory = path.split(separator: "/").dropLast().joined(separator: "/")
        let joined = RemoteURL.removingDotSegments("/" + (directory.isEmpty ? "" : directory + "/") + relativePath)
        return HubLocation(repository: repository, revision: revision, path: joined.split(separator: "/").joined(separator: "/"))
    }

    /// `refs/pr/N` or `refs/convert/NAME` at the start of `text`, which hold `/` unencoded.
    private static func specialReference(in text: Substring) -> Substring? {
        for kind in ["refs/pr/", "refs/convert/"] where text.hasPrefix(kind) {
            let rest = text.dropFirst(kind.count)
            let name = rest.prefix { $0 != "/" }
            let valid = kind == "refs/pr/" ? name.allSatisfy(\.isASCIIDigit) : name.utf8.allSatisfy(NameBytes.contains)
            guard !name.isEmpty, valid else { return nil }
            return text[..<name.endIndex]
        }
        return nil
    }

    /// `ORG/NAME`, checked as the Hub checks repository ids: letters, digits, `-`, `_` and `.`,
    /// no `--` or `..`, neither end a `-` or `.`, 96 characters at most.
    private static func parseRepository(_ text: String) throws(RemoteURL.ParseError) -> HubRepository {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, text.count <= 96,
              parts.allSatisfy({ part in
                  !part.isEmpty && part.utf8.allSatisfy(NameBytes.contains) && !part.contains("--") && !part.contains("..")
                      && !part.hasPrefix("-") && !part.hasPrefix(".") && !part.hasSuffix("-") && !part.hasSuffix(".")
              }) else {
            throw RemoteURL.ParseError(description: "\(quoted(text)) is not a repository id (ORG/NAME of letters, digits, '-', '_' and '.')")
        }
        return HubRepository(organization: String(parts[0]), name: String(parts[1]))
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
