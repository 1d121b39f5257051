import ByteSources
import SafetensorsFormat
import SystemPackage

/// Files on a local filesystem, mapped into memory.
public struct LocalFiles: SourceLocator {
    /// Creates the locator.
    public init() {}

    public func handles(_ location: String) -> Bool { true }

    public func kind(of location: String) throws(ModelError) -> LocationKind {
        let kind: LocalPath.Kind
        do {
            kind = try LocalPath.kind(of: location)
        } catch {
            throw .unusableSource(location, reason: error.description)
        }
        switch kind {
        case .file:
            return .file
        case .directory:
            do {
                return .directory(entries: try OpenDirectory.open(location).entryNames())
            } catch {
                throw .unusableSource(location, reason: "cannot list the directory: \(error)")
            }
        case .other:
            throw .unusableSource(location, reason: "not a regular file or a directory")
        }
    }

    public func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource {
        do {
            return try MappedFile(path: location, displayName: displayName)
        } catch {
            throw .source(error)
        }
    }

    public func canonical(_ location: String) -> String? { LocalPath.resolved(location) }

    public func resolvedLocation(ofOpened source: any ByteSource, at location: String) -> String? {
        (source as? MappedFile)?.descriptor.openedPath()
    }

    public func sibling(of base: String, relativePath: String) -> String {
        LocalPath.join(LocalPath.parent(base), relativePath)
    }

    public var concurrentOpens: Int { ParallelWork.processorCount }
}

extension LocalFiles {
    /// The most files a directory may hold below it: a model directory holds tens.
    static let maximumFileCount = 10_000
    /// How deep directories may nest below it.
    static let maximumDepth = 64

    /// Walks the directory by descriptors (`openat`), so that nothing swapped under a path
    /// during the walk leads elsewhere. Symbolic links are listed as files, or entered when
    /// they lead to directories (each directory at most once, so that a link loop ends); what
    /// the files really are is checked when they are opened.
    public func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] {
        var found: [String] = []
        var entered = Set<[UInt64]>()
        do {
            let top = try OpenDirectory.open(location)
            try walk(top, prefix: "", depth: 0, skipping: skipping, into: &found, entered: &entered, shown: location)
        } catch let error as ModelError {
            throw error
        } catch {
            throw .unusableSource(location, reason: "cannot list the directory: \(error)")
        }
        return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// What the entry `name` is (the link itself for a symbolic link), or nil when it is gone.
    private static func type(of name: String, in directory: OpenDirectory) throws(Errno) -> FileType? {
        do {
            return try directory.status(of: name).type
        } catch .noSuchFileOrDirectory {
            return nil
        }
    }

    private func walk(
        _ directory: OpenDirectory, prefix: String, depth: Int, skipping: Set<String>,
        into found: inout [String], entered: inout Set<[UInt64]>, shown: String
    ) throws {
        let identity = try directory.status()
        guard entered.insert([UInt64(identity.deviceID.rawValue), UInt64(identity.inode.rawValue)]).inserted else { return }
        guard depth < Self.maximumDepth else {
            throw ModelError.unusableSource(shown, reason: "directories nest more than \(Self.maximumDepth) deep below it (at \(quoted(prefix)))")
        }
        for name in try directory.entryNames() {
            let path = prefix + name
            // An entry removed since the listing is not there to show.
            guard var type = try Self.type(of: name, in: directory) else { continue }
            if type == .symbolicLink, let target = try? directory.status(of: name, followingSymlink: true) { type = target.type }
            if type == .directory {
                guard !skipping.contains(name) else { continue }
                let inner = try directory.openDirectory(named: name, followingSymlink: true)
                try walk(inner, prefix: path + "/", depth: depth + 1, skipping: skipping, into: &found, entered: &entered, shown: shown)
                continue
            }
            found.append(path)
            guard found.count <= Self.maximumFileCount else {
                throw ModelError.unusableSource(shown, reason: "more than \(Self.maximumFileCount) files lie below the directory; mount a model's directory")
            }
        }
    }
}
