/// An element type of a safetensors tensor, spelled exactly as in the header (case-sensitive).
public enum DType: String, CaseIterable, Sendable, Hashable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case i16 = "I16"
    case u16 = "U16"
    case i32 = "I32"
    case u32 = "U32"
    case i64 = "I64"
    case u64 = "U64"
    case f16 = "F16"
    case bf16 = "BF16"
    case f32 = "F32"
    case f64 = "F64"
    case c64 = "C64"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case f4 = "F4"

    /// The width of one element in bits.
    public var bitsPerElement: Int {
        switch self {
        case .f4: 4
        case .f6E2M3, .f6E3M2: 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .i64, .u64, .f64, .c64: 64
        }
    }

    /// The dtype's spelling in a header, e.g. `BF16`.
    public var name: String { rawValue }

    /// Finds the dtype spelled by `bytes`, without allocating a string.
    init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard let packed = DType.packed(bytes) else { return nil }
        for (spelling, candidate) in DType.packedSpellings where spelling == packed {
            self = candidate
            return
        }
        return nil
    }

    /// A spelling of at most 15 bytes as two little-endian words, its length in the last byte;
    /// nil when longer. Every dtype's spelling fits, and equal words mean equal spellings.
    private static func packed(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard bytes.count < 16 else { return nil }
        var words: (UInt64, UInt64) = (0, UInt64(bytes.count) << 56)
        for (position, byte) in bytes.enumerated() {
            if position < 8 {
                words.0 |= UInt64(byte) << (8 * position)
            } else {
                words.1 |= UInt64(byte) << (8 * (position - 8))
            }
        }
        return words
    }

    /// Every dtype with its packed spelling, for matching header text with two comparisons.
    private static let packedSpellings: [((UInt64, UInt64), DType)] = allCases.map { dtype in
        var spelling = dtype.rawValue
        return (spelling.withUTF8 { packed(UnsafeRawBufferPointer($0))! }, dtype)
    }
}
