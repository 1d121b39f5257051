import ByteSources
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
