import ByteSources
import SafetensorsFormat
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A whole object's bytes in a file of the disk cache, mapped: for servers that ignore byte
/// ranges, whose objects are fetched whole. The mapping and the file stay valid while the value
/// lives, also if the cache removes the entry meanwhile.
final class MappedCacheFile: @unchecked Sendable {
    /// The object's bytes.
    let bytes: UnsafeRawBufferPointer
    /// The open file: copies read it with `pread`, which fails rather than faults if someone
    /// truncates the file.
    let descriptor: FileDescriptor
    private let mapping: UnsafeMutableRawPointer?
    private let mappedLength: Int

    fileprivate init(descriptor: FileDescriptor, mapping: UnsafeMutableRawPointer?, mappedLength: Int, count: Int) {
        self.descriptor = descriptor
        self.mapping = mapping
        self.mappedLength = mappedLength
        bytes = UnsafeRawBufferPointer(start: mapping, count: count)
    }

    deinit {
        if let mapping { munmap(mapping, mappedLength) }
        try? descriptor.close()
    }
}

/// Why a whole object could not be put in the cache.
struct WholeEntryError: Error, CustomStringConvertible {
    var description: String
}

extension DiskCache {
    /// The entry of whole objects of `identity`: one file, part 0 of a folder of its own.
    private func wholeEntryName(_ identity: String) -> CacheEntryName {
        CacheEntryName(object: XXHash64.hash(identity).paddedHex, part: 0)
    }

    /// The whole object of `identity` from the cache, mapped, after its checks (its trailer
    /// names `identity` and the bytes match their checksum); nil when there is none. A damaged
    /// entry is removed.
    func loadWhole(identity: String) -> MappedCacheFile? {
        let name = wholeEntryName(identity)
        guard let folder = folder(name.object, creating: false),
              let file = try? folder.openFile(named: String(name.part)) else { return nil }
        guard let status = try? file.stat(), status.type == .regular else {
            try? file.close()
            return nil
        }
        let defect: String
        switch readTrailer(file, fileSize: Int(status.size)) {
        case .success(let found) where found.trailer.identity == identity && found.trailer.range.start == 0:
            let count = Int(found.trailer.range.count)
            if let mapped = Self.map(file, length: count, writable: false), XXHash64.hash(mapped.bytes) == found.trailer.dataHash {
                _ = try? systemCall { futimens(file.rawValue, nil) }
                recency.withLock { $0.touch(name.relativePath, weight: UInt64(status.size)) }
                return mapped
            }
            defect = "bytes that fail their checksum"
        case .success:
            defect = "another object's bytes"
        case .failure(let found):
            try? file.close()
            defect = found.reason
        }
        log.write(.warning, "cache entry \(rootPath)/\(name.relativePath) has \(defect); removing it and fetching the file again")
        remove(name.relativePath)
        return nil
    }

    /// Makes a cache file of `size` bytes (its disk space reserved first, so that a full disk
    /// fails here rather than in the middle of writing through the mapping), lets `fill` write
    /// the object's bytes into it, and keeps it as the entry of `identity` with a trailer that
    /// checks it. Without an identity (an object whose version nothing tells) the file has no
    /// name: it lasts as long as the value returned. Fails when `fill` returns false.
    func storeWhole(identity: String?, size: UInt64, fill: (UnsafeMutableRawBufferPointer) -> Bool) throws(WholeEntryError) -> MappedCacheFile {
        guard size <= capacity else {
            throw WholeEntryError(description: "it is larger than the cache's \(capacity) bytes (--cache-size)")
        }
        let name = identity.map(wholeEntryName) ?? CacheEntryName(object: "unnamed", part: 0)
        guard let folder = folder(name.object, creating: true) else {
            throw WholeEntryError(description: "cannot make a folder in the cache \(rootPath)")
        }
        let temporary = ".\(name.part).tmp.\(getpid()).\(temporaryCounter.withLock { $0 += 1; return $0 })"
        let file: FileDescriptor
        do {
            file = try folder.openFile(named: temporary, .readWrite, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
            if identity == nil { try folder.removeFile(named: temporary) }
            let reserved = posix_fallocate(file.rawValue, 0, off_t(max(size, 1)))
            if reserved != 0 { throw Errno(rawValue: reserved) }
        } catch {
            try? folder.removeFile(named: temporary)
            throw WholeEntryError(description: "cannot make a cache file of \(size) bytes in \(rootPath): \(error)")
        }
        guard let mapped = Self.map(file, length: Int(size), writable: true) else {
            try? folder.removeFile(named: temporary)
            throw WholeEntryError(description: "cannot map a cache file of \(size) bytes: \(Errno.current)")
        }
        guard fill(UnsafeMutableRawBufferPointer(mutating: mapped.bytes)) else {
            try? folder.removeFile(named: temporary)
            throw WholeEntryError(description: "the fetch failed")
        }
        guard let identity else { return mapped }
        let trailer = CacheEntryFormat.encode(CacheEntryFormat.Trailer(
            range: ByteRange(start: 0, end: size), dataHash: XXHash64.hash(mapped.bytes), identity: identity))
        do {
            _ = try trailer.withUnsafeBytes { try file.writeAll(toAbsoluteOffset: Int64(size), $0) }
            try folder.rename(temporary, to: String(name.part))
        } catch {
            try? folder.removeFile(named: temporary)
            reportWriteFailure(name.relativePath, error)
            return mapped
        }
        let victims = recency.withLock { list -> [String] in
            list.touch(name.relativePath, weight: size + UInt64(trailer.count))
            return list.evict(downTo: capacity, keeping: name.relativePath)
        }
        for victim in victims { unlinkEntry(victim) }
        return mapped
    }

    /// The first `length` bytes of the file open at `file` (whose ownership passes to the value
    /// returned), mapped; nil, the file closed, when mapping fails.
    private static func map(_ file: FileDescriptor, length: Int, writable: Bool) -> MappedCacheFile? {
        guard length > 0 else { return MappedCacheFile(descriptor: file, mapping: nil, mappedLength: 0, count: 0) }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let mapping = mmap(nil, length, protection, MAP_SHARED, file.rawValue, 0), mapping != MAP_FAILED else {
            try? file.close()
            return nil
        }
        return MappedCacheFile(descriptor: file, mapping: mapping, mappedLength: length, count: length)
    }
}
