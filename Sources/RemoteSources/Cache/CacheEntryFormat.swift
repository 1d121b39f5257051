import SafetensorsFormat

/// The layout of one disk cache file: the part's bytes first (so that they map at offset 0),
/// then a trailer that names the object version and range they belong to and checksums both
/// itself and the bytes. A torn write or a flipped bit fails the checks; the entry is then
/// refetched, never served.
///
/// Trailer: magic `TFSCPART`, format version (u32), reserved (u32), range start (u64), range
/// length (u64), XXH64 of the bytes (u64), identity length (u32), identity (UTF-8), XXH64 of
/// the trailer so far (u64), trailer length (u32), end magic `TFSCEND1`. Integers little-endian.
enum CacheEntryFormat {
    static let magic = Array("TFSCPART".utf8)
    static let endMagic = Array("TFSCEND1".utf8)
    static let formatVersion: UInt32 = 1
    /// The trailer length and end magic, read first from the end of the file.
    static let tailLength = 12
    /// The longest identity accepted, so a corrupt length cannot ask for a huge read.
    static let maximumIdentityLength = 4096

    /// What a trailer says.
    struct Trailer: Equatable {
        /// The object bytes the file holds.
        var range: ByteRange
        /// XXH64 of those bytes.
        var dataHash: UInt64
        /// The object version and part size the bytes belong to.
        var identity: String
    }

    /// The trailer for `trailer`.
    static func encode(_ trailer: Trailer) -> [UInt8] {
        var bytes = magic
        append(formatVersion, to: &bytes)
        append(UInt32(0), to: &bytes)
        append(trailer.range.start, to: &bytes)
        append(trailer.range.count, to: &bytes)
        append(trailer.dataHash, to: &bytes)
        let identity = Array(trailer.identity.utf8)
        append(UInt32(identity.count), to: &bytes)
        bytes += identity
        append(bytes.withUnsafeBytes { XXHash64.hash($0) }, to: &bytes)
        append(UInt32(bytes.count + tailLength), to: &bytes)
        return bytes + endMagic
    }

    /// The trailer length a file's last `tailLength` bytes announce, or nil when they are not a tail.
    static func trailerLength(tail: [UInt8]) -> Int? {
        guard tail.count == tailLength, Array(tail[4...]) == endMagic else { return nil }
        return Int(read(UInt32.self, from: tail, at: 0))
    }

    /// Parses a whole trailer (`trailerLength` bytes, ending with the tail), or says what is wrong.
    static func decode(_ bytes: [UInt8]) -> Result<Trailer, CacheEntryDefect> {
        let fixed = magic.count + 4 + 4 + 8 + 8 + 8 + 4
        guard bytes.count >= fixed + 8 + tailLength, Array(bytes[..<magic.count]) == magic else {
            return .failure(CacheEntryDefect(reason: "no trailer"))
        }
        guard read(UInt32.self, from: bytes, at: 8) == formatVersion else {
            return .failure(CacheEntryDefect(reason: "another format version"))
        }
        let identityLength = Int(read(UInt32.self, from: bytes, at: fixed - 4))
        guard identityLength <= maximumIdentityLength, fixed + identityLength + 8 + tailLength == bytes.count else {
            return .failure(CacheEntryDefect(reason: "a trailer of the wrong length"))
        }
        let checked = fixed + identityLength
        let recorded = read(UInt64.self, from: bytes, at: checked)
        guard bytes[..<checked].withUnsafeBytes({ XXHash64.hash($0) }) == recorded else {
            return .failure(CacheEntryDefect(reason: "a damaged trailer"))
        }
        let start = read(UInt64.self, from: bytes, at: 16)
        let (end, overflow) = start.addingReportingOverflow(read(UInt64.self, from: bytes, at: 24))
        guard !overflow else { return .failure(CacheEntryDefect(reason: "a damaged trailer")) }
        let identity = String(decoding: bytes[fixed..<checked], as: UTF8.self)
        return .success(Trailer(range: ByteRange(start: start, end: end), dataHash: read(UInt64.self, from: bytes, at: 32), identity: identity))
    }

    private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func read<Value: FixedWidthInteger>(_ type: Value.Type, from bytes: [UInt8], at offset: Int) -> Value {
        bytes.withUnsafeBytes { Value(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Value.self)) }
    }
}

/// What is wrong with a cache file.
struct CacheEntryDefect: Error, Equatable {
    /// A phrase for the log.
    var reason: String
}
