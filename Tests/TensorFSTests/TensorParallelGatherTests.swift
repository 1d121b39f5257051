import ByteSources
import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// Gathering strided slices out of a source, and the cache that bounds the memory they take.
@Suite("tensor-parallel gathering")
struct TensorParallelGatherTests {
    /// Shapes, dtypes, dimensions and degrees whose runs are tiny (read through their gaps) or
    /// far apart (read one by one), cut into blocks at odd places.
    static let cases: [(DType, [UInt64], Int, Int)] = [
        (.f32, [64, 48], 1, 4),
        (.bf16, [16, 4096], 1, 2),
        (.u8, [3, 5, 8], 1, 5),
        (.f64, [6, 4, 2], 2, 2),
        (.f4, [10, 16], 1, 4),
        (.f6E2M3, [6, 16], 1, 2),
        (.i16, [2, 3, 2048, 4], 2, 8),
    ]

    @Test("a gathered slice equals the reference slice, read whole or in pieces", arguments: cases)
    func gathered(dtype: DType, shape: [UInt64], dimension: Int, degree: Int) throws {
        let model = try TestModel([CraftedTensor("w", dtype, shape)])
        let tensor = model.model.tensors[0]
        let source = model.model.shards[0].source
        for rank in 0..<degree {
            let slice = try SliceGeometry.cut(tensor.info, dimension: dimension, rank: rank, degree: degree, uneven: .error)
            let expected = referenceSlice(of: model.bytes["w"]!, bits: dtype.bitsPerElement, shape: shape,
                                          dimension: dimension, start: slice.cut!.start, length: slice.cut!.length)
            #expect(gather(slice, tensorStart: tensor.fileRange.start, from: source, in: ByteRange(start: 0, end: slice.byteCount)) == expected)
            let middle = ByteRange(start: slice.byteCount / 3, end: slice.byteCount * 2 / 3 + 1)
            #expect(gather(slice, tensorStart: tensor.fileRange.start, from: source, in: middle) == Array(expected[Int(middle.start)..<Int(middle.end)]))
        }
    }

    private func gather(_ slice: SliceGeometry, tensorStart: UInt64, from source: any ByteSource, in range: ByteRange) -> [UInt8]? {
        do {
            return try gathered(slice, tensorStart: tensorStart, from: source, in: range)
        } catch {
            Issue.record("gathering failed: \(error)")
            return nil
        }
    }

    private func gathered(_ slice: SliceGeometry, tensorStart: UInt64, from source: any ByteSource, in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(range.count), alignment: 1)
        defer { buffer.deallocate() }
        try StridedCopy.copy(range, of: slice, tensorStart: tensorStart, from: source, into: buffer)
        return Array(buffer)
    }

    @Test("gathering from a source truncated underneath fails with an error, not a signal",
          arguments: [[256, 256], [64, 4096]] as [[UInt64]])
    func truncated(shape: [UInt64]) throws {
        let model = try TestModel([CraftedTensor("w", .f32, shape)])
        let tensor = model.model.tensors[0]
        let slice = try SliceGeometry.cut(tensor.info, dimension: 1, rank: 1, degree: 2, uneven: .error)
        #expect(truncate(model.path, 1000) == 0)
        #expect(throws: ByteSourceError.self) {
            try gathered(slice, tensorStart: tensor.fileRange.start, from: model.model.shards[0].source,
                         in: ByteRange(start: 0, end: slice.byteCount))
        }
    }

    @Test("the cache evicts the least recently used values to stay within its budget")
    func leastRecentlyUsed() {
        var cache = ByteBudgetLRU<String, Int>(budget: 10)
        cache.insert(1, for: "a", cost: 4)
        cache.insert(2, for: "b", cost: 4)
        #expect(cache.value(for: "a") == 1)
        cache.insert(3, for: "c", cost: 4)
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == 1)
        #expect(cache.value(for: "c") == 3)
        #expect(cache.cost == 8)
        cache.insert(4, for: "d", cost: 11)
        #expect(cache.value(for: "d") == nil)
        cache.insert(5, for: "a", cost: 2)
        #expect(cache.value(for: "a") == 5)
        #expect(cache.cost == 6)
        cache.insert(6, for: "e", cost: 10)
        #expect(cache.count == 1)
        #expect(cache.cost == 10)
    }

    @Test("a gatherer keeps blocks within its budget and serves repeats from memory")
    func gathererBudget() throws {
        let model = try TestModel([CraftedTensor("w", .f32, [1024, 1024])])
        let tensor = model.model.tensors[0]
        let geometry = try SliceGeometry.cut(tensor.info, dimension: 1, rank: 0, degree: 2, uneven: .error)
        let slice = StridedSlice(identity: SliceIdentity(view: 0, tensor: 0), source: model.model.shards[0].source, tensorStart: tensor.fileRange.start, geometry: geometry)
        let gatherer = SliceGatherer(budget: Int(SliceGatherer.blockSize))
        let first = try gatherer.block(0, of: slice)
        #expect(try gatherer.block(0, of: slice) === first)
        _ = try gatherer.block(1, of: slice)
        #expect(gatherer.cachedBytes == Int(SliceGatherer.blockSize))
        #expect(try gatherer.block(0, of: slice) !== first)
    }
}
