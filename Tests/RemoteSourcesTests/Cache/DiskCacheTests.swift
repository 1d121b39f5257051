@testable import RemoteSources
import SafetensorsFormat
import ByteSources
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DiskCacheTests {
    private let identity = "object\nsize 100000\netag \"v1\"\npart size 65536"

    private func fragment(_ range: ByteRange, seed: UInt8) -> Fragment {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Int(range.count), alignment: 16)
        for index in 0..<Int(range.count) { memory.storeBytes(of: UInt8(truncatingIfNeeded: index) &+ seed, toByteOffset: index, as: UInt8.self) }
        return Fragment(range: range, memory: memory, pool: nil)
    }

    private func entry(_ part: UInt64) -> CacheEntryName { CacheEntryName(object: "00112233aabbccdd", part: part) }

    @Test func aStoredPartLoadsBackByteForByteAndSurvivesReopening() throws {
        let directory = TemporaryDirectory()
        let range = ByteRange(start: 65536, end: 65536 + 50000)
        let original = fragment(range, seed: 3)
        try DiskCache(directory: directory.path, capacity: 1 << 20, log: .disabled).store(original, as: entry(1), identity: identity)
        let reopened = try DiskCache(directory: directory.path, capacity: 1 << 20, log: .disabled)
        #expect(reopened.usedBytes > 50000)
        let loaded = try #require(reopened.load(entry(1), identity: identity, covering: ByteRange(start: 70000, end: 80000)))
        #expect(loaded.range == range)
        #expect(Array(loaded.bytes) == Array(original.bytes))
    }

    @Test func anotherVersionOrRangeFindsNothing() throws {
        let directory = TemporaryDirectory()
        let cache = try DiskCache(directory: directory.path, capacity: 1 << 20, log: .disabled)
        cache.store(fragment(ByteRange(start: 0, end: 1000), seed: 1), as: entry(0), identity: identity)
        #expect(cache.load(entry(0), identity: identity + "x", covering: ByteRange(start: 0, end: 10)) == nil)
        #expect(cache.load(entry(0), identity: identity, covering: ByteRange(start: 900, end: 1001)) == nil)
        #expect(cache.load(entry(5), identity: identity, covering: ByteRange(start: 0, end: 10)) == nil)
    }

    @Test func aDamagedOrTornEntryIsRemovedNotServed() throws {
        let directory = TemporaryDirectory()
        let cache = try DiskCache(directory: directory.path, capacity: 1 << 20, log: .disabled)
        let whole = ByteRange(start: 0, end: 4000)
        for part: UInt64 in 0..<2 { cache.store(fragment(whole, seed: 9), as: entry(part), identity: identity) }
        let flipped = cache.root + "/" + entry(0).relativePath
        var bytes = directory.read(flipped)
        bytes[123] ^= 0x10
        directory.write(bytes, to: "v1/" + entry(0).relativePath)
        truncate(cache.root + "/" + entry(1).relativePath, 2000)
        #expect(cache.load(entry(0), identity: identity, covering: whole) == nil)
        #expect(cache.load(entry(1), identity: identity, covering: whole) == nil)
        #expect(access(flipped, F_OK) != 0)
        #expect(cache.usedBytes == 0)
    }

    @Test func theLeastRecentlyUsedEntriesGoWhenTheCapacityIsReached() throws {
        let directory = TemporaryDirectory()
        let cache = try DiskCache(directory: directory.path, capacity: 3 * 1200, log: .disabled)
        let range = ByteRange(start: 0, end: 1000)
        for part: UInt64 in 0..<3 { cache.store(fragment(range, seed: UInt8(part)), as: entry(part), identity: identity) }
        _ = cache.load(entry(0), identity: identity, covering: range)
        cache.store(fragment(range, seed: 7), as: entry(3), identity: identity)
        #expect(cache.usedBytes <= 3 * 1200)
        #expect(cache.load(entry(1), identity: identity, covering: range) == nil)
        #expect(cache.load(entry(0), identity: identity, covering: range) != nil)
        #expect(cache.load(entry(3), identity: identity, covering: range) != nil)
    }

    @Test func anUnusableDirectoryIsOneClearError() {
        #expect(throws: RemoteSetupError.self) { try DiskCache(directory: "/proc/no-cache-here", capacity: 1, log: .disabled) }
    }
}
