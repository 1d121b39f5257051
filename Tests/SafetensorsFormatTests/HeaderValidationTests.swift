import Testing
import SafetensorsFormat

/// Rules 6 to 8: tensors tile the data buffer from 0, each span matches its dtype and shape,
/// and the buffer ends at the end of the file; plus tensorfs's refusal of duplicate names.
@Suite("data layout")
struct HeaderValidationTests {
    /// A file holding the given tensor entries and `dataCount` bytes of data.
    private func file(_ entries: String..., dataCount: Int) -> CraftedFile {
        CraftedFile("{" + entries.joined(separator: ",") + "}", dataCount: dataCount)
    }

    // MARK: Offsets

    @Test("tensors are returned in data order, whatever order the header lists them in")
    func dataOrder() {
        let header = acceptance(of: file(
            tensor("c", "U8", [3], 5, 8), tensor("a", "U8", [2], 0, 2), tensor("b", "U8", [3], 2, 5), dataCount: 8))
        #expect(header?.tensors.map(\.name) == ["a", "b", "c"])
        #expect(header?.tensors.map(\.dataOffsets) == [
            ByteRange(start: 0, end: 2), ByteRange(start: 2, end: 5), ByteRange(start: 5, end: 8),
        ])
    }

    @Test("a hole between two tensors is rejected")
    func hole() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), tensor("b", "U8", [2], 3, 5), dataCount: 5))
        #expect(problem == .misplacedTensor(tensor: "b", begin: 3, previous: "a", previousEnd: 2))
    }

    @Test("overlapping tensors are rejected")
    func overlap() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), tensor("b", "U8", [2], 1, 3), dataCount: 3))
        #expect(problem == .misplacedTensor(tensor: "b", begin: 1, previous: "a", previousEnd: 2))
    }

    @Test("two tensors over the same bytes are rejected")
    func sameBytes() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), tensor("b", "U8", [2], 0, 2), dataCount: 2))
        #expect(problem == .misplacedTensor(tensor: "b", begin: 0, previous: "a", previousEnd: 2))
    }

    @Test("a tensor nested inside another is rejected")
    func nested() {
        let problem = rejection(of: file(tensor("a", "U8", [4], 0, 4), tensor("b", "U8", [2], 1, 3), dataCount: 4))
        #expect(problem?.kind == .misplacedTensor)
    }

    @Test("a first tensor that does not start at 0 is rejected")
    func firstNotAtZero() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 1, 3), dataCount: 3))
        #expect(problem == .misplacedTensor(tensor: "a", begin: 1, previous: nil, previousEnd: 0))
    }

    @Test("a tensor that ends before it begins is rejected")
    func endBeforeBegin() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), tensor("b", "U8", [0], 2, 1), dataCount: 2))
        #expect(problem == .tensorEndsBeforeItBegins(tensor: "b", begin: 2, end: 1))
    }

    @Test("a lone tensor with end before begin is rejected")
    func loneEndBeforeBegin() {
        #expect(rejection(of: file(tensor("a", "U8", [0], 1, 0), dataCount: 0)) != nil)
        #expect(rejection(of: file(tensor("a", "U8", [0], 5, 3), dataCount: 0)) != nil)
    }

    // MARK: Zero-size tensors and scalars

    @Test("zero-size tensors may share an offset with each other and with a neighbour")
    func zeroSizeShared() throws {
        let header = try #require(acceptance(of: file(
            tensor("z1", "F32", [0], 0, 0), tensor("a", "U8", [2], 0, 2), tensor("z2", "F32", [0, 3], 2, 2),
            tensor("z3", "BF16", [5, 0], 2, 2), tensor("z4", "F4", [0], 2, 2), dataCount: 2)))
        #expect(header.tensors.count == 5)
        #expect(header.tensors.filter { $0.byteCount == 0 }.count == 4)
        #expect(header.tensors.allSatisfy { $0.impliedByteCount == $0.byteCount })
    }

    @Test("a header of zero-size tensors only has no data")
    func onlyZeroSize() {
        #expect(acceptance(of: file(tensor("a", "F64", [0], 0, 0), tensor("b", "I8", [3, 0, 2], 0, 0), dataCount: 0))?.tensors.count == 2)
    }

    @Test("a zero-size shape with a non-empty span is rejected")
    func zeroSizeWithBytes() {
        #expect(rejection(of: file(tensor("a", "F32", [0], 0, 4), dataCount: 4)) == .sizeMismatch(tensor: "a", expected: 0, actual: 4))
    }

    @Test("a scalar (shape []) holds one element")
    func scalar() throws {
        let header = try #require(acceptance(of: file(tensor("s", "F32", [], 0, 4), dataCount: 4)))
        #expect(header.tensors[0].shape.isEmpty)
        #expect(header.tensors[0].elementCount == 1)
        #expect(header.tensors[0].byteCount == 4)
    }

    @Test("a scalar with the wrong span is rejected")
    func scalarWrongSize() {
        #expect(rejection(of: file(tensor("s", "F32", [], 0, 0), dataCount: 0)) == .sizeMismatch(tensor: "s", expected: 4, actual: 0))
        #expect(rejection(of: file(tensor("s", "F64", [], 0, 4), dataCount: 4)) == .sizeMismatch(tensor: "s", expected: 8, actual: 4))
    }

    // MARK: Sizes

    @Test("a span that does not match dtype and shape is rejected")
    func sizeMismatch() {
        #expect(rejection(of: file(tensor("a", "F32", [2], 0, 4), dataCount: 4)) == .sizeMismatch(tensor: "a", expected: 8, actual: 4))
        #expect(rejection(of: file(tensor("a", "U8", [2, 2], 0, 5), dataCount: 5)) == .sizeMismatch(tensor: "a", expected: 4, actual: 5))
    }

    static let overflowingShapes: [(String, [UInt64])] = [
        ("U8", [1 << 32, 1 << 32]),
        ("U8", [.max, 2]),
        ("U8", [.max, 2, 0]),
        ("U8", [1 << 61]),
        ("F32", [1 << 62]),
        ("F64", [1 << 58, 2]),
        ("F4", [1 << 62]),
        ("F6_E2M3", [1 << 62]),
        ("BOOL", [.max]),
    ]

    @Test("a shape whose element or bit count overflows 64 bits is rejected", arguments: overflowingShapes)
    func shapeOverflow(dtype: String, shape: [UInt64]) {
        #expect(rejection(of: file(tensor("a", dtype, shape, 0, 0), dataCount: 0)) == .shapeOverflow(tensor: "a"))
    }

    @Test("an element count multiplied in order: a zero after an overflow still overflows, a zero before does not")
    func overflowOrder() {
        #expect(acceptance(of: file(tensor("a", "U8", [.max, 0], 0, 0), dataCount: 0))?.tensors[0].elementCount == 0)
        #expect(acceptance(of: file(tensor("a", "U8", [0, .max, 2], 0, 0), dataCount: 0))?.tensors[0].elementCount == 0)
        #expect(rejection(of: file(tensor("a", "U8", [.max, 2, 0], 0, 0), dataCount: 0)) == .shapeOverflow(tensor: "a"))
    }

    @Test("the largest bit counts that fit are accepted as counts, then checked against the span")
    func largestBitCount() {
        #expect(rejection(of: file(tensor("a", "U8", [(1 << 61) - 1], 0, 0), dataCount: 0)) == .sizeMismatch(tensor: "a", expected: (1 << 61) - 1, actual: 0))
        #expect(rejection(of: file(tensor("a", "F4", [(1 << 62) - 2], 0, 0), dataCount: 0)) == .sizeMismatch(tensor: "a", expected: (1 << 61) - 1, actual: 0))
    }

    static let partialBytes: [(String, DType, [UInt64], UInt64)] = [
        ("F4", .f4, [3], 3), ("F4", .f4, [], 1), ("F4", .f4, [1, 3], 3), ("F4", .f4, [5, 5], 25),
        ("F6_E2M3", .f6E2M3, [6], 6), ("F6_E3M2", .f6E3M2, [2], 2), ("F6_E2M3", .f6E2M3, [], 1), ("F6_E3M2", .f6E3M2, [3, 3], 9),
    ]

    @Test("sub-byte dtypes must fill whole bytes: F4 an even count, F6 a multiple of 4", arguments: partialBytes)
    func partialByte(name: String, dtype: DType, shape: [UInt64], elements: UInt64) {
        let span = elements * UInt64(dtype.bitsPerElement) / 8
        let problem = rejection(of: file(tensor("a", name, shape, 0, span), dataCount: Int(span)))
        #expect(problem == .partialByte(tensor: "a", dtype: dtype, elementCount: elements))
    }

    static let wholeBytes: [(String, [UInt64], UInt64)] = [
        ("F4", [2], 1), ("F4", [4], 2), ("F4", [3, 2], 3), ("F4", [0], 0),
        ("F6_E2M3", [4], 3), ("F6_E3M2", [8], 6), ("F6_E2M3", [2, 2], 3), ("F6_E3M2", [3, 4], 9),
    ]

    @Test("sub-byte dtypes that fill whole bytes are accepted", arguments: wholeBytes)
    func wholeByte(name: String, shape: [UInt64], bytes: UInt64) {
        #expect(acceptance(of: file(tensor("a", name, shape, 0, bytes), dataCount: Int(bytes)))?.tensors[0].byteCount == bytes)
    }

    // MARK: End of the data

    @Test("trailing bytes after the last tensor are rejected")
    func trailingBytes() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), dataCount: 3))
        #expect(problem?.kind == .dataSizeMismatch)
        if case .dataSizeMismatch(let dataEnd, let fileSize) = problem {
            #expect(fileSize == dataEnd + 1)
        }
    }

    @Test("data shorter than the last tensor's end is rejected")
    func shortData() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), dataCount: 1))
        #expect(problem?.kind == .dataSizeMismatch)
        if case .dataSizeMismatch(let dataEnd, let fileSize) = problem {
            #expect(dataEnd == fileSize + 1)
        }
    }

    @Test("an empty header followed by data is rejected")
    func emptyHeaderWithData() {
        #expect(rejection(of: CraftedFile("{}", dataCount: 1)) == .dataSizeMismatch(dataEnd: 10, fileSize: 11))
    }

    @Test("a data buffer reaching past 2^64 bytes of file is rejected without overflow")
    func hugeEnd() {
        // Eight tensors of 2^61-1 bytes, the most a 64-bit bit count allows, end at 2^64-8.
        let span: UInt64 = (1 << 61) - 1
        let entries = (0..<8).map { tensor("t\($0)", "U8", [span], $0 * span, ($0 + 1) * span) }
        let problem = rejection(of: CraftedFile("{" + entries.joined(separator: ",") + "}"))
        #expect(problem?.kind == .dataSizeMismatch)
    }

    @Test("each tensor's file range lies after the header")
    func fileRanges() throws {
        let header = try #require(acceptance(of: file(tensor("a", "U16", [3], 0, 6), tensor("b", "U8", [1], 6, 7), dataCount: 7)))
        #expect(header.fileRange(of: header.tensors[0]) == ByteRange(start: header.dataStart, end: header.dataStart + 6))
        #expect(header.fileRange(of: header.tensors[1]).end == header.fileSize)
    }

    // MARK: Duplicate names

    @Test("a tensor name given twice is rejected, unlike the reference, which keeps the last")
    func duplicateName() {
        let problem = rejection(of: file(tensor("a", "U8", [2], 0, 2), tensor("a", "U8", [2], 0, 2), dataCount: 2))
        #expect(problem == .duplicateTensor(name: "a"))
    }

    @Test("a tensor name given twice through different escapes is rejected")
    func duplicateEscapedName() {
        let problem = rejection(of: file(tensor("é", "U8", [1], 0, 1), tensor(#"\u00e9"#, "U8", [1], 1, 2), dataCount: 2))
        #expect(problem == .duplicateTensor(name: "é"))
    }

    @Test("an empty name given twice is rejected")
    func duplicateEmptyName() {
        #expect(rejection(of: file(tensor("", "U8", [0], 0, 0), tensor("", "U8", [0], 0, 0), dataCount: 0)) == .duplicateTensor(name: ""))
    }
}
