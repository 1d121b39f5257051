/// A string compared and hashed by its UTF-8 bytes, not by Unicode canonical equivalence:
/// tensor names and paths are byte strings, and two spellings of "é" are two names.
///
/// The key hashes its bytes once, when made: dictionaries of a hundred thousand names then
/// rehash and probe without touching the strings, and compare bytes only on a hash match.
public struct Utf8Key: Hashable, Sendable {
    /// The string compared by its bytes.
    public let string: String
    private let bytesHash: UInt64

    /// Wraps `string`, hashing its bytes.
    public init(_ string: String) {
        self.string = string
        var copy = string
        bytesHash = copy.withUTF8 { NameHasher.hash(UnsafeRawBufferPointer($0)) }
    }

    public static func == (lhs: Utf8Key, rhs: Utf8Key) -> Bool {
        guard lhs.bytesHash == rhs.bytesHash else { return false }
        return lhs.hasBytes(of: rhs.string)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytesHash)
    }

    /// Whether `other` has exactly the bytes of this key's string.
    func hasBytes(of other: String) -> Bool {
        var other = other
        return other.withUTF8 { hasBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Whether `bytes` are exactly the bytes of this key's string.
    func hasBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var mine = string
        return mine.withUTF8 { UnsafeRawBufferPointer($0).hasSameBytes(as: bytes) }
    }
}
