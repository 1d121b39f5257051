/// A string compared and hashed by its UTF-8 bytes, not by Unicode canonical equivalence:
/// tensor names and paths are byte strings, and two spellings of "é" are two names.
public struct Utf8Key: Hashable, Sendable {
    public let string: String

    public init(_ string: String) {
        self.string = string
    }

    public static func == (lhs: Utf8Key, rhs: Utf8Key) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
