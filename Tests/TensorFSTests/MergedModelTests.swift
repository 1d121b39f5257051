import ByteSources
import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// `model.safetensors` at a model's root: one valid safetensors file made of a synthesized
/// header and the shards' data buffers.
@Suite("merged model file")
struct MergedModelTests {
    /// The bytes of the file at `path` below the root, read as the FUSE bridge reads them.
    private func contents(of path: String, in fileSystem: TensorFileSystem, range: Range<UInt64>? = nil) throws -> [UInt8] {
        let inode = try #require(fileSystem.namespace.resolve(path))
        let size = try #require(fileSystem.attributes(of: inode)).size
        let range = range ?? 0..<size
        let opened = fileSystem.open(inode)
        return try fileSystem.withContents(of: inode, opened: opened, offset: range.lowerBound, count: Int(range.count)) { pieces in
            pieces.flatMap { Array($0) }
        }
    }

    /// Three shards (one of them without tensors, one with a zero-size tensor) and an index.
    private func shardedDirectory() throws -> ModelDirectory {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("a.safetensors", [("layers.0.weight", [1, 2, 3]), ("empty", [])], metadata: ["format": "pt", "producer": "a"])
        try directory.writeSafetensors("b.safetensors", [], metadata: ["format": "tf"])
        try directory.writeSafetensors("c.safetensors", [("layers.1.weight", [4, 5]), ("head", [6])], metadata: ["extra": "c"])
        try directory.writeIndex([("layers.0.weight", "a.safetensors"), ("empty", "a.safetensors"), ("layers.1.weight", "c.safetensors"), ("head", "c.safetensors")],
                                 metadata: "{\"total_size\": 24, \"format\": \"index\", \"license\": \"mit\", \"nested\": {\"a\": 1}}")
        return directory
    }

    @Test("the merged file parses as safetensors and holds every tensor's bytes")
    func mergedFileHoldsEveryTensor() throws {
        let directory = try shardedDirectory()
        let model = try ModelLoader().loadMerged([directory.location("a.safetensors"), directory.location("b.safetensors"), directory.location("c.safetensors")])
        let fileSystem = try TensorFileSystem(models: [model])
        let bytes = try contents(of: "model.safetensors", in: fileSystem)
        let merged = try bytes.withUnsafeBytes { try SafetensorsHeader(fileBytes: $0, file: "model.safetensors") }
        #expect(merged.dataStart % 8 == 0)
        #expect(merged.tensors.map(\.name) == ["layers.0.weight", "empty", "layers.1.weight", "head"])
        for tensor in merged.tensors {
            let range = merged.fileRange(of: tensor)
            #expect(Array(bytes[Int(range.start)..<Int(range.end)]) == (try tensorBytes(tensor.name, of: model)), "\(tensor.name)")
        }
    }

    @Test("any range of the merged file reads as the same bytes as the whole", arguments: [0..<1, 5..<13, 7..<300, 100..<400])
    func rangesAgree(range: Range<Int>) throws {
        let directory = try shardedDirectory()
        let model = try ModelLoader().loadMerged([directory.location("a.safetensors"), directory.location("b.safetensors"), directory.location("c.safetensors")])
        let fileSystem = try TensorFileSystem(models: [model])
        let whole = try contents(of: "model.safetensors", in: fileSystem)
        let end = min(range.upperBound, whole.count)
        let piece = try contents(of: "model.safetensors", in: fileSystem, range: UInt64(range.lowerBound)..<UInt64(end))
        #expect(piece == Array(whole[range.lowerBound..<end]))
    }

    @Test("__metadata__ merges the shards' pairs, then the index's strings; the first value wins")
    func metadataMerge() throws {
        let directory = try shardedDirectory()
        let model = try ModelLoader().loadMerged([directory.path])
        let merged = MergedModel.mergedMetadata(of: model)
        #expect(merged.map { [$0.key, $0.value] } == [["format", "pt"], ["producer", "a"], ["extra", "c"], ["license", "mit"]])
        let bytes = try contents(of: "model.safetensors", in: try TensorFileSystem(models: [model]))
        let header = try bytes.withUnsafeBytes { try SafetensorsHeader(fileBytes: $0, file: "model.safetensors") }
        #expect(header.metadata?.map { [$0.key, $0.value] } == merged.map { [$0.key, $0.value] })
    }

    @Test("names that JSON must escape come back unchanged")
    func escapedNames() throws {
        let names = ["quote\"d", "back\\slash", "tab\tand\nnewline", "nul\u{0}byte", "del\u{7F}", "é and e\u{301}", "slash/dot.."]
        let directory = try ModelDirectory()
        try directory.writeSafetensors("a.safetensors", names.prefix(4).map { ($0, [1]) })
        try directory.writeSafetensors("b.safetensors", names.dropFirst(4).map { ($0, [2]) })
        let model = try ModelLoader().loadMerged([directory.path])
        let bytes = try contents(of: "model.safetensors", in: try TensorFileSystem(models: [model]))
        let header = try bytes.withUnsafeBytes { try SafetensorsHeader(fileBytes: $0, file: "model.safetensors") }
        #expect(header.tensors.map { Array($0.name.utf8) } == names.map { Array($0.utf8) })
    }

    @Test("a model of one file is served as that file, unchanged")
    func singleFile() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("only.safetensors", [("a", [1, 2]), ("b", [3])], metadata: ["format": "pt"])
        let model = try ModelLoader().loadMerged([directory.location("only.safetensors")])
        let bytes = try contents(of: "model.safetensors", in: try TensorFileSystem(models: [model]))
        #expect(bytes == Array(try Data(contentsOf: URL(fileURLWithPath: directory.location("only.safetensors")))))
    }

    @Test("a header over the limit leaves no merged file, and says how long it would be")
    func headerOverLimit() throws {
        // Control characters take six bytes each in JSON.
        let model = syntheticModel(names: [String(repeating: "\u{1}", count: 100), String(repeating: "\u{2}", count: 100)])
        guard case .failure(let unavailable) = MergedModel.plan(for: model, headerLimit: 1000) else {
            Issue.record("expected no merged file")
            return
        }
        #expect(unavailable.headerLength > 1200 && unavailable.headerLength % 8 == 0)
        #expect(unavailable.limit == 1000)
        let metadata = try JSONSerialization.jsonObject(with: Data(MetadataFile.bytes(for: model, merged: .failure(unavailable)))) as? [String: Any]
        let file = try #require(metadata?["model.safetensors"] as? [String: Any])
        #expect(file["present"] as? Bool == false)
        #expect(file["reason"] as? String == "the merged header would be \(unavailable.headerLength) bytes, over the format's limit of 1000")
    }

    @Test("a header whose quick bound is over the limit but whose length is not is measured and kept")
    func boundOverLimitButHeaderFits() throws {
        let model = syntheticModel(names: [String(repeating: "a", count: 300), String(repeating: "b", count: 300)])
        guard case .success(let merged) = MergedModel.plan(for: model, headerLimit: 1000) else {
            Issue.record("expected a merged file")
            return
        }
        let length = try #require(merged.headerLength)
        #expect(length > 600 && length <= 1000 && length % 8 == 0)
        #expect(merged.size == 8 + length + 8)
        let prefix = try #require(merged.header(for: model))
        #expect(UInt64(prefix.count) == 8 + length)
    }

    @Test("the measured length is the length of the header written", arguments: [0, 1, 2, 3, 4, 5, 6, 7])
    func measuredLengthMatches(extra: Int) throws {
        let model = syntheticModel(names: ["x" + String(repeating: "\"", count: extra), "y\u{0}"])
        guard case .success(let merged) = MergedModel.plan(for: model) else {
            Issue.record("expected a merged file")
            return
        }
        let prefix = try #require(merged.header(for: model))
        let header = Array(prefix.buffer.dropFirst(8))
        #expect(UInt64(header.count) == merged.headerLength)
        #expect(header.count % 8 == 0)
        #expect(header.last == UInt8(ascii: " ") || header.last == UInt8(ascii: "}"))
        let text = String(decoding: header, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(text.hasSuffix("}"))
    }

    /// A model of one four-byte tensor per name, each in a shard of its own, with no bytes
    /// behind it (only sizes are used).
    private func syntheticModel(names: [String]) -> LogicalModel {
        let shards = names.map { _ in Shard(source: SizedSource(size: 16), relativeName: "s.safetensors", metadata: nil, dataStart: 12, tensorCount: 1) }
        let tensors = names.enumerated().map { number, name in
            ModelTensor(info: TensorInfo(name: name, dtype: .f32, shape: [1], dataOffsets: ByteRange(start: 0, end: 4)), shard: number, fileRange: ByteRange(start: 12, end: 16))
        }
        return LogicalModel(name: "synthetic", shards: shards, tensors: tensors)
    }
}

/// A source of a given size whose bytes are never read.
final class SizedSource: ByteSource {
    let displayName = "sized.safetensors"
    let size: UInt64
    let modificationTime = Timestamp.zero

    init(size: UInt64) { self.size = size }

    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: 0))
    }

    func withMemory<Result>(of range: ByteRange, _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result) throws(ByteSourceError) -> Result {
        throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: 0))
    }
}
