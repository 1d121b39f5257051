@testable import RemoteSources
import SafetensorsFormat
import ByteSources
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DiskCacheTests {
    private let identity = "object\nsize 100000\netag \"v1\"\npart size 65536"
    private let wholePart = ByteRange(start: 0, end: 1 << 20)

    private func entry(_ part: UInt64) -> CacheEntryName { CacheEntryName(object: "00112233aabbccdd", part: part) }

    private func cache(_ directory: TemporaryDirectory, capacity: UInt64 = 1 << 20, log: EventLog = .disabled) throws -> DiskCache {
        try DiskCache(directory: directory.path, capacity: capacity, log: log, buffers: testBuffers)
    }

    private func mode(_ path: String) -> mode_t {
        var status = stat()
        precondition(lstat(path, &status) == 0, "\(path) is missing")
        return status.st_mode & 0o7777
    }

    @Test func aStoredPartLoadsBackByteForByteAndSurvivesReopening() throws {
        let directory = TemporaryDirectory()
        let range = ByteRange(start: 65536, end: 65536 + 50000)
        let original = makeFragment(range, seed: 3)
        try cache(directory).store(original, as: entry(1), identity: identity)
        let reopened = try cache(directory)
        #expect(reopened.usedBytes > 50000)
        let loaded = try #require(reopened.load(entry(1), identity: identity, covering: ByteRange(start: 70000, end: 80000), within: wholePart))
        #expect(loaded.range == range)
        #expect(Array(loaded.bytes) == Array(original.bytes))
    }

    @Test func entriesAreReadableByTheirOwnerOnly() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory)
        cache.store(makeFragment(ByteRange(start: 0, end: 1000)), as: entry(0), identity: identity)
        #expect(mode(directory.path + "/v1") == 0o700)
        #expect(mode(directory.path + "/v1/00112233aabbccdd") == 0o700)
        #expect(mode(directory.path + "/v1/" + entry(0).relativePath) == 0o600)
    }

    @Test func aMissingDirectoryIsMadePrivate() throws {
        let directory = TemporaryDirectory()
        _ = try DiskCache(directory: directory.path + "/new", capacity: 1 << 20, log: .disabled, buffers: testBuffers)
        #expect(mode(directory.path + "/new") == 0o700)
    }

    @Test func anEntriesFolderLeftOpenByAnOlderVersionIsClosed() throws {
        let directory = TemporaryDirectory()
        #expect(mkdir(directory.path + "/v1", 0o755) == 0 && chmod(directory.path + "/v1", 0o755) == 0)
        _ = try cache(directory)
        #expect(mode(directory.path + "/v1") == 0o700)
    }

    @Test func aDirectoryOfAnotherUserOrWritableByOthersIsRefused() throws {
        let directory = TemporaryDirectory()
        #expect(chmod(directory.path, 0o777) == 0)
        let writable = #expect(throws: RemoteSetupError.self) { try cache(directory) }
        #expect(writable?.description.contains("other users may write") == true)
        #expect(chmod(directory.path, 0o700) == 0 && chown(directory.path, 65534, 65534) == 0)
        let foreign = #expect(throws: RemoteSetupError.self) { try cache(directory) }
        #expect(foreign?.description.contains("belongs to user 65534") == true)
    }

    @Test func anEntriesFolderThatIsALinkIsRefused() throws {
        let directory = TemporaryDirectory()
        let elsewhere = TemporaryDirectory()
        #expect(symlink(elsewhere.path, directory.path + "/v1") == 0)
        let error = #expect(throws: RemoteSetupError.self) { try cache(directory) }
        #expect(error?.description.contains("not a directory") == true)
    }

    @Test func theScanNeverFollowsLinksAndRemovesThem() throws {
        let directory = TemporaryDirectory()
        let victim = TemporaryDirectory()
        let planted = [victim.write([1, 2, 3], to: ".hidden"), victim.write([UInt8](repeating: 7, count: 5000), to: "big")]
        _ = try cache(directory)
        #expect(symlink(victim.path, directory.path + "/v1/evil") == 0)
        #expect(mkdir(directory.path + "/v1/00112233aabbccdd", 0o700) == 0)
        #expect(symlink(victim.path + "/big", directory.path + "/v1/00112233aabbccdd/0") == 0)
        #expect(mkfifo(directory.path + "/v1/00112233aabbccdd/1", 0o600) == 0)
        let log = TemporaryDirectory()
        let logFile = open(log.path + "/log", O_WRONLY | O_CREAT, 0o600)
        defer { close(logFile) }
        _ = try cache(directory, capacity: 100, log: EventLog(descriptor: logFile, level: .warning))
        for path in planted { #expect(access(path, F_OK) == 0, "\(path) was removed through a link") }
        #expect(access(directory.path + "/v1/evil", F_OK) != 0)
        let text = String(decoding: log.read(log.path + "/log"), as: UTF8.self)
        #expect(text.contains("evil (a symbolic link)") && text.contains("(a FIFO)"), "\(text)")
    }

    @Test func aLinkInPlaceOfAnObjectFolderIsNeverWrittenThrough() throws {
        let directory = TemporaryDirectory()
        let victim = TemporaryDirectory()
        let target = victim.write([9, 9, 9], to: "0")
        let cache = try cache(directory)
        #expect(symlink(victim.path, directory.path + "/v1/00112233aabbccdd") == 0)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 0, end: 3), within: wholePart) == nil)
        cache.store(makeFragment(ByteRange(start: 0, end: 1000)), as: entry(0), identity: identity)
        #expect(victim.read(target) == [9, 9, 9])
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 0, end: 3), within: wholePart) != nil,
                "the link was removed and a real folder took its place")
    }

    @Test func aFIFOInPlaceOfAnEntryIsRemovedInsteadOfWaitedFor() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory)
        #expect(mkdir(directory.path + "/v1/00112233aabbccdd", 0o700) == 0)
        #expect(mkfifo(directory.path + "/v1/" + entry(0).relativePath, 0o600) == 0)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 0, end: 3), within: wholePart) == nil)
        #expect(access(directory.path + "/v1/" + entry(0).relativePath, F_OK) != 0)
    }

    @Test func anotherVersionOrRangeFindsNothing() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory)
        cache.store(makeFragment(ByteRange(start: 0, end: 1000), seed: 1), as: entry(0), identity: identity)
        #expect(cache.load(entry(0), identity: identity + "x", covering: ByteRange(start: 0, end: 10), within: wholePart) == nil)
        cache.store(makeFragment(ByteRange(start: 0, end: 1000), seed: 1), as: entry(0), identity: identity)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 900, end: 1001), within: wholePart) == nil)
        #expect(cache.load(entry(5), identity: identity, covering: ByteRange(start: 0, end: 10), within: wholePart) == nil)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 0, end: 10), within: ByteRange(start: 0, end: 999)) == nil,
                "an entry reaching past its part is refused")
    }

    @Test func aNarrowerFetchNeverReplacesAWiderEntry() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory)
        cache.store(makeFragment(ByteRange(start: 0, end: 4000), seed: 1), as: entry(0), identity: identity)
        cache.store(makeFragment(ByteRange(start: 1000, end: 2000), seed: 2), as: entry(0), identity: identity)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 0, end: 4000), within: wholePart)?.range == ByteRange(start: 0, end: 4000))
        cache.store(makeFragment(ByteRange(start: 2000, end: 6000), seed: 3), as: entry(0), identity: identity)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 2000, end: 6000), within: wholePart) != nil)
    }

    @Test func aDamagedOrTornEntryIsRemovedNotServed() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory)
        let whole = ByteRange(start: 0, end: 4000)
        for part: UInt64 in 0..<2 { cache.store(makeFragment(whole, seed: 9), as: entry(part), identity: identity) }
        let flipped = cache.rootPath + "/" + entry(0).relativePath
        var bytes = directory.read(flipped)
        bytes[123] ^= 0x10
        directory.write(bytes, to: "v1/" + entry(0).relativePath)
        truncate(cache.rootPath + "/" + entry(1).relativePath, 2000)
        #expect(cache.load(entry(0), identity: identity, covering: whole, within: wholePart) == nil)
        #expect(cache.load(entry(1), identity: identity, covering: whole, within: wholePart) == nil)
        #expect(access(flipped, F_OK) != 0)
        #expect(cache.usedBytes == 0)
    }

    @Test func theLeastRecentlyUsedEntriesGoWhenTheCapacityIsReached() throws {
        let directory = TemporaryDirectory()
        let cache = try cache(directory, capacity: 3 * 1200)
        let range = ByteRange(start: 0, end: 1000)
        for part: UInt64 in 0..<3 { cache.store(makeFragment(range, seed: UInt8(part)), as: entry(part), identity: identity) }
        _ = cache.load(entry(0), identity: identity, covering: range, within: wholePart)
        cache.store(makeFragment(range, seed: 7), as: entry(3), identity: identity)
        #expect(cache.usedBytes <= 3 * 1200)
        #expect(cache.load(entry(1), identity: identity, covering: range, within: wholePart) == nil)
        #expect(cache.load(entry(0), identity: identity, covering: range, within: wholePart) != nil)
        #expect(cache.load(entry(3), identity: identity, covering: range, within: wholePart) != nil)
    }

    @Test func anUnusableDirectoryIsOneClearError() {
        #expect(throws: RemoteSetupError.self) { try DiskCache(directory: "/proc/no-cache-here", capacity: 1, log: .disabled, buffers: testBuffers) }
    }
}
