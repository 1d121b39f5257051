import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// `__metadata__.json` at a model's root.
@Suite("metadata file")
struct MetadataFileTests {
    private func metadata(of model: LogicalModel) throws -> [String: Any] {
        let bytes = MetadataFile.bytes(for: model, merged: MergedModel.plan(for: model))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("it summarizes the model and lists each shard with its size and __metadata__")
    func summaryAndShards() throws {
        let fixture = try ShardedFixture()
        let model = try ModelLoader().loadMerged([fixture.model])
        let json = try metadata(of: model)
        #expect(json["model"] as? String == "model")
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["tensors"] as? Int == ShardedFixture.tensors.count)
        #expect(summary["bytes"] as? UInt64 == ShardedFixture.totalSize)
        #expect(summary["dtypes"] as? [String: Int] == ["F32": ShardedFixture.tensors.count])
        #expect(summary["shards"] as? Int == 3)
        let shards = try #require(json["shards"] as? [[String: Any]])
        #expect(shards.map { $0["file"] as? String } == model.shards.map(\.relativeName))
        #expect(shards.map { $0["size"] as? UInt64 } == model.shards.map(\.source.size))
        #expect(shards.map { $0["tensors"] as? Int } == [2, 2, 1])
        #expect(shards.allSatisfy { $0["__metadata__"] as? [String: String] == ["format": "pt"] })
        let merged = try #require(json["model.safetensors"] as? [String: Any])
        #expect(merged["present"] as? Bool == true)
        #expect(merged["__metadata__"] as? [String: String] == ["format": "pt"])
        #expect((json["warnings"] as? [String])?.isEmpty == true)
    }

    @Test("each index appears by its name in the model, with its metadata as written")
    func indexMetadata() throws {
        let fixture = try ShardedFixture(metadata: #"{"total_size":\#(ShardedFixture.totalSize),   "nested": {"list": [1, {"deep": "x\"y"}], "empty": {}, "none": []}}"#)
        let json = try metadata(of: try ModelLoader().loadMerged([fixture.model]))
        let indexes = try #require(json["indexes"] as? [[String: Any]])
        #expect(indexes.count == 1)
        #expect(indexes[0]["file"] as? String == "model.safetensors.index.json")
        let written = try #require(indexes[0]["metadata"] as? NSDictionary)
        let expected: NSDictionary = ["total_size": ShardedFixture.totalSize, "nested": ["list": [1, ["deep": "x\"y"]], "empty": [String: Int](), "none": [Int]()]]
        #expect(written == expected)
    }

    @Test("the dtype histogram lists the most frequent dtype first")
    func histogramOrder() throws {
        let shards = [Shard(source: SizedSource(size: 100), relativeName: "s", metadata: nil, dataStart: 8, tensorCount: 4)]
        let dtypes: [DType] = [.bf16, .f32, .f32, .i8]
        let tensors = dtypes.enumerated().map { number, dtype in
            ModelTensor(info: TensorInfo(name: "t\(number)", dtype: dtype, shape: [0], dataOffsets: ByteRange(start: 0, end: 0)), shard: 0, fileRange: ByteRange(start: 8, end: 8))
        }
        let histogram = LogicalModel(name: "m", shards: shards, tensors: tensors).tensors.dtypeHistogram()
        #expect(histogram.map(\.0) == [.f32, .bf16, .i8])
        #expect(histogram.map(\.1) == [2, 1, 1])
    }

    @Test("warnings of the load are listed")
    func warnings() throws {
        let fixture = try ShardedFixture(metadata: "{\"total_size\": 1}")
        let json = try metadata(of: try ModelLoader().loadMerged([fixture.model]))
        #expect((json["warnings"] as? [String])?.first?.contains("metadata.total_size is 1") == true)
    }
}
