import ByteSources
import Foundation
import Testing
@testable import TensorFS

/// A temporary directory for model files, removed when the value goes away.
final class ModelDirectory {
    /// The directory's absolute path (symlinks resolved).
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tensorfs-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.resolvingSymlinksInPath().path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `relative` below the directory.
    func location(_ relative: String) -> String {
        relative.isEmpty ? path : path + "/" + relative
    }

    /// Writes `bytes` at `relative`, making directories on the way.
    func write(_ relative: String, bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: location(relative))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// Writes `text` at `relative`.
    func write(_ relative: String, text: String) throws {
        try write(relative, bytes: Array(text.utf8))
    }

    /// Writes a safetensors file of F32 vectors, the header padded to 8 bytes as writers do.
    func writeSafetensors(_ relative: String, _ tensors: [(name: String, values: [Float])], metadata: [String: String]? = nil) throws {
        try write(relative, bytes: safetensorsBytes(tensors, metadata: metadata))
    }

    /// Writes a hub-style index placing each tensor in a file.
    func writeIndex(_ weightMap: [(tensor: String, file: String)], at relative: String = "model.safetensors.index.json", metadata: String = "{}") throws {
        let entries = weightMap.map { "\(jsonString($0.tensor)): \(jsonString($0.file))" }.joined(separator: ",\n    ")
        try write(relative, text: "{\n  \"metadata\": \(metadata),\n  \"weight_map\": {\n    \(entries)\n  }\n}\n")
    }

    /// Makes `relative` a symbolic link to `target`.
    func link(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: location(relative), withDestinationPath: target)
    }
}

/// The bytes of a safetensors file holding F32 vectors, in the order given.
func safetensorsBytes(_ tensors: [(name: String, values: [Float])], metadata: [String: String]? = nil) -> [UInt8] {
    safetensorsFile(tensors.map { WrittenTensor(name: $0.name, dtype: .f32, shape: [UInt64($0.values.count)], data: f32Bytes($0.values)) },
                    metadata: metadata.map { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } })
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

/// The bytes of `values` as F32, little-endian.
func f32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// The bytes of tensor `name` of `model`, read through the model's byte source.
func tensorBytes(_ name: String, of model: LogicalModel) throws -> [UInt8] {
    let tensor = try #require(model.tensors.first { $0.name.utf8.elementsEqual(name.utf8) })
    return try model.shards[tensor.shard].source.copyBytes(in: tensor.fileRange)
}

/// The error loading `sources` merged fails with, recording an issue when it loads.
func loadError(_ sources: [String], sourceLocation: SourceLocation = #_sourceLocation) -> ModelError? {
    do {
        let model = try ModelLoader().loadMerged(sources)
        Issue.record("expected a failure, loaded \(model.tensors.count) tensors", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(!error.description.contains("\n"), "one line: \(error)", sourceLocation: sourceLocation)
        return error
    }
}

/// A sharded model of three shards and an index, in a directory of its own (`model/`).
struct ShardedFixture {
    let directory: ModelDirectory
    /// Every tensor and its values, in index order.
    static let tensors: [(name: String, values: [Float], file: String)] = [
        ("model.embed.weight", [1, 2, 3, 4], "model-00001-of-00003.safetensors"),
        ("model.layers.0.attn.weight", [5, 6], "model-00001-of-00003.safetensors"),
        ("model.layers.1.attn.weight", [7, 8], "model-00002-of-00003.safetensors"),
        ("model.layers.2.attn.weight", [9], "model-00003-of-00003.safetensors"),
        ("lm_head.weight", [10, 11, 12], "model-00002-of-00003.safetensors"),
    ]
    static let totalSize = UInt64(tensors.reduce(0) { $0 + $1.values.count } * 4)

    /// Writes the fixture; `weightMap` and `metadata` override the index's contents.
    init(weightMap: [(tensor: String, file: String)]? = nil, metadata: String? = nil) throws {
        directory = try ModelDirectory()
        for file in Set(ShardedFixture.tensors.map(\.file)) {
            let held = ShardedFixture.tensors.filter { $0.file == file }.map { ($0.name, $0.values) }
            try directory.writeSafetensors("model/" + file, held, metadata: ["format": "pt"])
        }
        try directory.writeIndex(
            weightMap ?? ShardedFixture.tensors.map { ($0.name, $0.file) },
            at: "model/model.safetensors.index.json",
            metadata: metadata ?? "{\"total_size\": \(ShardedFixture.totalSize)}")
    }

    /// The model's directory.
    var model: String { directory.location("model") }
    /// `relative` inside the model's directory.
    func location(_ relative: String) -> String { directory.location("model/" + relative) }
}
