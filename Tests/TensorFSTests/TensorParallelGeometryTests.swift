import SafetensorsFormat
import Testing
@testable import TensorFS

/// Where a rank's part of a tensor lies, and which cuts are refused.
@Suite("tensor-parallel slice geometry")
struct TensorParallelGeometryTests {
    private func info(_ dtype: DType, _ shape: [UInt64]) -> TensorInfo {
        let bytes = shape.reduce(1, *) * UInt64(dtype.bitsPerElement) / 8
        return TensorInfo(name: "t", dtype: dtype, shape: shape, dataOffsets: ByteRange(start: 0, end: bytes))
    }

    private func cut(_ tensor: TensorInfo, _ dimension: Int, rank: Int, of degree: Int, uneven: UnevenSplit = .error) throws(SliceGeometry.Problem) -> SliceGeometry {
        try SliceGeometry.cut(tensor, dimension: dimension, rank: rank, degree: degree, uneven: uneven)
    }

    @Test("a cut on dimension 0 is one contiguous run")
    func firstDimension() throws {
        let slice = try cut(info(.f32, [8, 6]), 0, rank: 3, of: 4)
        #expect(slice.shape == [2, 6])
        #expect(slice.isContiguous)
        #expect(slice.firstOffset == 3 * 2 * 6 * 4)
        #expect(slice.byteCount == 2 * 6 * 4)
        #expect(slice.cut == SliceGeometry.Cut(dimension: 0, start: 6, length: 2))
    }

    @Test("a cut on a later dimension is one run per index of the dimensions before it")
    func laterDimension() throws {
        let slice = try cut(info(.bf16, [3, 8, 5]), 1, rank: 1, of: 4)
        #expect(slice.shape == [3, 2, 5])
        #expect(!slice.isContiguous)
        #expect(slice.chunkCount == 3)
        #expect(slice.chunkBytes == 2 * 5 * 2)
        #expect(slice.strideBytes == 8 * 5 * 2)
        #expect(slice.firstOffset == 2 * 5 * 2)
    }

    @Test("leading dimensions of size 1 leave a later cut contiguous")
    func leadingOnes() throws {
        #expect(try cut(info(.f16, [1, 1, 8, 4]), 2, rank: 2, of: 4).isContiguous)
    }

    @Test("a negative dimension counts from the last")
    func negative() throws {
        #expect(try cut(info(.f32, [4, 6]), -1, rank: 1, of: 2) == cut(info(.f32, [4, 6]), 1, rank: 1, of: 2))
        #expect(throws: SliceGeometry.Problem.noSuchDimension) { try cut(info(.f32, [4, 6]), -3, rank: 0, of: 2) }
        #expect(throws: SliceGeometry.Problem.noSuchDimension) { try cut(info(.f32, [4, 6]), 2, rank: 0, of: 2) }
        #expect(throws: SliceGeometry.Problem.noSuchDimension) { try cut(info(.f32, []), 0, rank: 0, of: 2) }
    }

    @Test("an uneven dimension is refused, or split as numpy.array_split does")
    func uneven() throws {
        #expect(throws: SliceGeometry.Problem.uneven(extent: 10)) { try cut(info(.f32, [10, 2]), 0, rank: 0, of: 4) }
        let parts = try (0..<4).map { rank throws(SliceGeometry.Problem) in try cut(info(.f32, [10, 2]), 0, rank: rank, of: 4, uneven: .arraySplit).cut! }
        #expect(parts.map(\.length) == [3, 3, 2, 2])
        #expect(parts.map(\.start) == [0, 3, 6, 8])
        let few = try (0..<4).map { rank throws(SliceGeometry.Problem) in try cut(info(.f32, [2, 2]), 0, rank: rank, of: 4, uneven: .arraySplit) }
        #expect(few.map(\.byteCount) == [8, 8, 0, 0])
    }

    @Test("sub-byte dtypes are cut only where the cut falls on a byte boundary")
    func subByte() throws {
        // F4 rows of 6 elements are 3 bytes: any cut between rows is whole bytes.
        #expect(try cut(info(.f4, [4, 6]), 0, rank: 1, of: 2).byteCount == 6)
        // Halves of a row of 4 F4 are 1 byte each; halves of a row of 6 are 12 bits.
        #expect(try cut(info(.f4, [3, 4]), 1, rank: 1, of: 2).chunkBytes == 1)
        #expect(throws: SliceGeometry.Problem.cutInsideByte(indices: 3, bitsPerIndex: 4)) { try cut(info(.f4, [2, 6]), 1, rank: 1, of: 2) }
        // F4 rows of 3 elements: a cut after one row falls at bit 12.
        #expect(throws: SliceGeometry.Problem.cutInsideByte(indices: 1, bitsPerIndex: 12)) { try cut(info(.f4, [2, 3]), 0, rank: 1, of: 2) }
        // F6: 4 elements are 3 bytes.
        #expect(try cut(info(.f6E2M3, [2, 8]), 1, rank: 1, of: 2).chunkBytes == 3)
        #expect(throws: SliceGeometry.Problem.cutInsideByte(indices: 2, bitsPerIndex: 6)) { try cut(info(.f6E3M2, [4, 4]), 1, rank: 1, of: 2) }
    }

    @Test("an empty tensor has empty slices even when its other dimensions are huge")
    func empty() throws {
        let slice = try cut(info(.f32, [0, 1 << 40, 1 << 40]), 1, rank: 1, of: 2)
        #expect(slice.byteCount == 0)
        #expect(slice.shape == [0, 1 << 39, 1 << 40])
    }
}
