import Testing
import SafetensorsFormat

/// The 22 dtypes of the format, their spellings and their widths in bits.
@Suite("dtypes")
struct DTypeTests {
    static let table: [(String, DType, Int)] = [
        ("BOOL", .bool, 8), ("U8", .u8, 8), ("I8", .i8, 8), ("I16", .i16, 16), ("U16", .u16, 16),
        ("I32", .i32, 32), ("U32", .u32, 32), ("I64", .i64, 64), ("U64", .u64, 64),
        ("F16", .f16, 16), ("BF16", .bf16, 16), ("F32", .f32, 32), ("F64", .f64, 64), ("C64", .c64, 64),
        ("F8_E5M2", .f8E5M2, 8), ("F8_E4M3", .f8E4M3, 8), ("F8_E8M0", .f8E8M0, 8),
        ("F8_E4M3FNUZ", .f8E4M3FNUZ, 8), ("F8_E5M2FNUZ", .f8E5M2FNUZ, 8),
        ("F6_E2M3", .f6E2M3, 6), ("F6_E3M2", .f6E3M2, 6), ("F4", .f4, 4),
    ]

    @Test("there are exactly the 22 dtypes of the format")
    func count() {
        #expect(DType.allCases.count == 22)
        #expect(Set(DTypeTests.table.map(\.1)) == Set(DType.allCases))
    }

    @Test("each dtype has its spelling and bit width", arguments: table)
    func spellingAndWidth(name: String, dtype: DType, bits: Int) {
        #expect(dtype.name == name)
        #expect(DType(rawValue: name) == dtype)
        #expect(dtype.bitsPerElement == bits)
    }

    @Test("each dtype is read from a header, with a span of elements x bits / 8", arguments: table)
    func readFromHeader(name: String, dtype: DType, bits: Int) throws {
        let bytes = 8 * bits / 8
        let file = CraftedFile("{" + tensor("t", name, [2, 4], 0, UInt64(bytes)) + "}", dataCount: bytes)
        let info = try #require(acceptance(of: file)?.tensors.first)
        #expect(info.dtype == dtype)
        #expect(info.byteCount == UInt64(bytes))
        #expect(info.impliedByteCount == UInt64(bytes))
    }

    @Test("each dtype is also read in its object form", arguments: table)
    func readFromObjectForm(name: String, dtype: DType, bits: Int) {
        let file = CraftedFile(#"{"t":{"dtype":{"\#(name)":null},"shape":[8],"data_offsets":[0,\#(bits)]}}"#, dataCount: bits)
        #expect(acceptance(of: file)?.tensors.first?.dtype == dtype)
    }

    @Test("dtype names are case-sensitive", arguments: table)
    func caseSensitive(name: String, dtype: DType, bits: Int) {
        let lower = name.lowercased()
        #expect(DType(rawValue: lower) == nil)
        let file = CraftedFile("{" + tensor("t", lower, [8], 0, UInt64(bits)) + "}", dataCount: bits)
        #expect(rejection(of: file) == .unknownDType(tensor: "t", dtype: lower))
    }

    @Test("a span one byte off is a size mismatch for every dtype", arguments: table)
    func oneByteOff(name: String, dtype: DType, bits: Int) {
        let file = CraftedFile("{" + tensor("t", name, [8], 0, UInt64(bits + 1)) + "}", dataCount: bits + 1)
        #expect(rejection(of: file) == .sizeMismatch(tensor: "t", expected: UInt64(bits), actual: UInt64(bits + 1)))
    }
}
