// Measures header parsing and namespace building on a synthetic 100k-tensor model, and compares
// the purpose-built JSON scanner with Foundation's decoders on the same header text.
//
// Usage: header-benchmark [--tensors N] [--write PATH]
//   --write PATH also writes a safetensors file with that header (zero-filled data), so that
//   scripts/bench.sh can time the reference library on the very same header.
import ByteSources
import Foundation
import SafetensorsFormat
import TensorFS

struct Options {
    var tensors = 100_000
    var writePath: String?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--tensors": tensors = Int(iterator.next() ?? "") ?? tensors
            case "--write": writePath = iterator.next()
            default: break
            }
        }
    }
}

/// A Llama-style header: layers of attention and MLP weights, BF16, contiguous offsets.
func syntheticHeader(tensors count: Int) -> (json: [UInt8], dataLength: UInt64) {
    let suffixes = ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                    "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight", "mlp.bias"]
    var text = "{\"__metadata__\":{\"format\":\"pt\"}"
    var offset: UInt64 = 0
    for index in 0..<count {
        let name = "model.layers.\(index / suffixes.count).\(suffixes[index % suffixes.count])"
        let shape: [UInt64] = index % suffixes.count >= 7 ? [64] : [64, 32]
        let bytes = shape.reduce(2, *)
        text += ",\"\(name)\":{\"dtype\":\"BF16\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
        offset += bytes
    }
    text += "}"
    while (text.utf8.count + 8) % 8 != 0 { text += " " }
    return (Array(text.utf8), offset)
}

/// The median wall time of `body` over `runs` runs, in milliseconds.
func measure(runs: Int = 7, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
    }
    return samples.sorted()[runs / 2]
}

struct DecodedTensor: Decodable {
    var dtype: String
    var shape: [UInt64]
    var data_offsets: [UInt64]
}

/// A source that holds no bytes, for building namespaces without files.
final class EmptySource: ByteSource {
    let displayName = "synthetic.safetensors"
    let size: UInt64
    let modificationTime = Timestamp.zero
    init(size: UInt64) { self.size = size }
    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] { [UInt8](repeating: 0, count: Int(range.count)) }
    func withMemory<Result>(of range: ByteRange, _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result) throws(ByteSourceError) -> Result {
        try body(UnsafeBufferPointer(start: nil, count: 0))
    }
}

let options = Options(arguments: CommandLine.arguments)
let (json, dataLength) = syntheticHeader(tensors: options.tensors)
let fileSize = 8 + UInt64(json.count) + dataLength
let data = Data(json)
print("header: \(options.tensors) tensors, \(json.count) bytes of JSON\n")

var parsed: SafetensorsHeader!
let custom = try json.withUnsafeBytes { text in
    try measure { parsed = try SafetensorsHeader(json: text, fileSize: fileSize, file: "synthetic") }
}
let serialization = try measure { _ = try JSONSerialization.jsonObject(with: data) }
// JSONDecoder cannot mix the metadata object with tensor entries in one dictionary: decode the
// same text without it.
let tensorsOnly = Data(String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"__metadata__\":{\"format\":\"pt\"},", with: "").utf8)
let decoder = try measure { _ = try JSONDecoder().decode([String: DecodedTensor].self, from: tensorsOnly) }
let model = LogicalModel(
    name: "synthetic",
    shards: [Shard(source: EmptySource(size: fileSize), relativeName: "synthetic.safetensors", metadata: parsed.metadata, dataStart: parsed.dataStart, tensorCount: parsed.tensors.count)],
    tensors: parsed.tensors.map { ModelTensor(info: $0, shard: 0, fileRange: parsed.fileRange(of: $0)) })
let namespaceTime = try measure(runs: 5) { _ = try TensorFileSystem(models: [model]) }

// The read path's own cost: planning one 1 MiB read of an open .npy view (its header, then
// source bytes), per call. The kernel's copy of the megabyte it serves takes about 100 microseconds.
let fileSystem = try TensorFileSystem(models: [model])
let firstTensorPath = parsed.tensors.min { $0.dataOffsets.start < $1.dataOffsets.start }!.name.replacingOccurrences(of: ".", with: "/")
let npyInode = fileSystem.resolve(firstTensorPath + ".npy")!
let npyFile = fileSystem.open(npyInode)
let plannedReads = 100_000
let readPlanning = try measure {
    for index in 0..<plannedReads {
        _ = try fileSystem.withContents(of: npyInode, opened: npyFile, offset: UInt64(index % 2) << 20, count: 1 << 20) { $0.count }
    }
} * 1e6 / Double(plannedReads)

print("| step | median ms | vs purpose-built parser |")
print("| --- | ---: | ---: |")
for (name, time) in [("purpose-built scanner + validation", custom), ("Foundation JSONSerialization (parse only)", serialization),
                     ("Foundation JSONDecoder (parse only)", decoder), ("namespace build (tree, 3 views)", namespaceTime)] {
    print("| \(name) | \(String(format: "%.1f", time)) | \(String(format: "%.2fx", time / custom)) |")
}
print("\n| read path | median ns per call |\n| --- | ---: |")
print("| plan a 1 MiB read of an .npy file (header + source piece) | \(String(format: "%.0f", readPlanning)) |")

if let path = options.writePath {
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: json)
    file.append(Data(count: Int(dataLength)))
    try file.write(to: URL(fileURLWithPath: path))
}
