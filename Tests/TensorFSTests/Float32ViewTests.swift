import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// The f32 view: `T.f32.npy` beside narrow floats, FP8 weights dequantized with their scales,
/// whole and in rank trees.
@Suite("f32 view")
struct Float32ViewTests {
    static let f32Views = try! ViewSelection(parsing: "raw,json,npy,f32")
    static let deepSeekConfig = #"{"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}"#

    /// Every F8_E4M3 code in turn, NaNs included, over `count` elements.
    static func codes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 256) } }

    /// Scales of every kind of float32: small and large, negative, subnormal, one that
    /// overflows 448 to infinity.
    static func scales(_ count: Int) -> [Float] {
        (0..<count).map { index in
            switch index % 5 {
            case 0: Float(index + 1) * 0.0078125
            case 1: -Float(index) * 1.5
            case 2: Float(bitPattern: 0x0001_1111)
            case 3: 1e38
            default: 0.3
            }
        }
    }

    /// The value of an F8_E4M3 code, from its fields.
    static func e4m3(_ code: UInt8) -> Float {
        code & 0x7F == 0x7F ? .nan : Float(Float32WideningTests.value(of: Int(code), exponentBits: 4, mantissaBits: 3, bias: 7))
    }

    /// The values of a `.npy` file of float32s, after checking its header.
    static func values(ofNpy bytes: [UInt8], shape: [UInt64], sourceLocation: SourceLocation = #_sourceLocation) -> [Float] {
        let headerLength = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<headerLength], as: UTF8.self)
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"), "\(header)", sourceLocation: sourceLocation)
        #expect((bytes.count - headerLength) == Int(shape.reduce(1, *)) * 4, sourceLocation: sourceLocation)
        return stride(from: headerLength, to: bytes.count, by: 4).map { start in
            Float(bitPattern: UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24)
        }
    }

    /// Whether two values are the same float32, any NaN matching any NaN.
    static func same(_ lhs: [Float], _ rhs: [Float]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    /// A DeepSeek-style model: a [300, 400] F8_E4M3 weight with 128x128 block scales (ragged at
    /// both edges), a per-channel and a per-tensor weight, and tensors the view leaves alone.
    static func deepSeekModel() throws -> TestModel {
        try TestModel([
            CraftedTensor("model.layers.0.self_attn.q_proj.weight", .f8E4M3, [300, 400], data: codes(120_000)),
            CraftedTensor("model.layers.0.self_attn.q_proj.weight_scale_inv", .f32, [3, 4], data: f32Bytes(scales(12))),
            CraftedTensor("model.layers.0.self_attn.o_proj.weight", .f8E4M3, [300, 400], data: codes(120_000).reversed()),
            CraftedTensor("model.layers.0.self_attn.o_proj.weight_scale_inv", .f32, [3, 4], data: f32Bytes(scales(12).reversed())),
            CraftedTensor("model.layers.0.mlp.up_proj.weight", .f8E4M3, [64, 96], data: codes(6144)),
            CraftedTensor("model.layers.0.mlp.up_proj.weight_scale", .f32, [64, 1], data: f32Bytes(scales(64))),
            CraftedTensor("model.layers.0.mlp.down_proj.weight", .f8E5M2, [2, 3, 8]),
            CraftedTensor("model.layers.0.mlp.down_proj.weight_scale", .bf16, [], data: [0xC0, 0x3F]),
            CraftedTensor("model.norm.weight", .bf16, [400]),
            CraftedTensor("model.embed.weight", .f32, [4, 4]),
        ], config: deepSeekConfig)
    }

    /// What the f32 view should hold for an F8_E4M3 weight of `codes` with `scales`, one per
    /// `blockRows x blockColumns` block: value x scale of its block, in float32.
    static func dequantized(_ codes: [UInt8], columns: Int, scales: [Float], blockRows: Int, blockColumns: Int) -> [Float] {
        let gridColumns = (columns + blockColumns - 1) / blockColumns
        return codes.enumerated().map { index, code in
            e4m3(code) * scales[index / columns / blockRows * gridColumns + index % columns / blockColumns]
        }
    }

    @Test("an FP8 weight with 128x128 block scales holds value x scale of its block, ragged edges and all, at any offset")
    func blockScales() throws {
        let model = try Self.deepSeekModel()
        let fs = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views))
        let path = "model/layers/0/self_attn/q_proj/weight.f32.npy"
        let file = try fs.contents(of: path, chunk: 65_536 + 3)
        let expected = Self.dequantized(Self.codes(120_000), columns: 400, scales: Self.scales(12), blockRows: 128, blockColumns: 128)
        #expect(Self.same(Self.values(ofNpy: file, shape: [300, 400]), expected))
        let inode = try #require(fs.namespace.resolve(path))
        let opened = fs.open(inode)
        var generator = SplitMix(seed: 3)
        for _ in 0..<200 {
            let offset = Int(generator.next() % UInt64(file.count))
            let count = Int(generator.next() % 5000)
            let read = try fs.withContents(of: inode, opened: opened, offset: UInt64(offset), count: count) { $0.flatMap { Array($0) } }
            #expect(read == Array(file[offset..<min(file.count, offset + count)]))
        }
    }

    @Test("per-channel scales multiply each row, a per-tensor BF16 scale everything")
    func channelAndTensorScales() throws {
        let model = try Self.deepSeekModel()
        let fs = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views))
        let channel = Self.values(ofNpy: try fs.contents(of: "model/layers/0/mlp/up_proj/weight.f32.npy"), shape: [64, 96])
        #expect(Self.same(channel, Self.dequantized(Self.codes(6144), columns: 96, scales: Self.scales(64), blockRows: 1, blockColumns: 96)))
        let codes = model.bytes["model.layers.0.mlp.down_proj.weight"]!
        let whole = Self.values(ofNpy: try fs.contents(of: "model/layers/0/mlp/down_proj/weight.f32.npy"), shape: [2, 3, 8])
        let e5m2 = codes.map { Float(bitPattern: Float32WideningTests.widened(.f8E5M2, [$0])[0]) }
        #expect(Self.same(whole, e5m2.map { $0 * 1.5 }))
    }

    @Test("the view shows narrow floats only, and only when chosen; its .npy is <f4 of the tensor's shape")
    func presence() throws {
        let model = try Self.deepSeekModel()
        let plain = try TensorFileSystem(models: [model.model])
        #expect(plain.namespace.resolve("model/norm/weight.f32.npy") == nil)
        let fs = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views))
        #expect(fs.namespace.resolve("model/embed/weight.f32.npy") == nil)
        #expect(fs.namespace.resolve("model/layers/0/self_attn/q_proj/weight_scale_inv.f32.npy") == nil)
        let norm = Self.values(ofNpy: try fs.contents(of: "model/norm/weight.f32.npy"), shape: [400])
        let raw = model.bytes["model.norm.weight"]!
        #expect(norm.map(\.bitPattern) == (0..<400).map { UInt32(raw[2 * $0]) << 16 | UInt32(raw[2 * $0 + 1]) << 24 })
        let inode = try #require(fs.namespace.resolve("model/norm/weight.f32.npy"))
        #expect(fs.attributes(of: inode)?.size == UInt64(128 + 1600))
    }

    @Test("the sidecar lists the f32 view with what dequantized it, or null")
    func sidecar() throws {
        let model = try Self.deepSeekModel()
        let fs = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views))
        func views(_ path: String) throws -> [[String: Any]] {
            let object = try JSONSerialization.jsonObject(with: Data(try fs.contents(of: path))) as! [String: Any]
            return object["views"] as? [[String: Any]] ?? []
        }
        let scaled = try #require(try views("model/layers/0/self_attn/q_proj/weight.json").first)
        #expect(scaled["view"] as? String == "f32")
        #expect(scaled["suffix"] as? String == ".f32.npy")
        #expect(scaled["nbytes"] as? Int == 480_000)
        #expect(scaled["dequantized_with"] as? String == "model.layers.0.self_attn.q_proj.weight_scale_inv")
        let scale = try #require(scaled["scale"] as? [String: Any])
        #expect(scale["granularity"] as? String == "block")
        #expect(scale["block_size"] as? [Int] == [128, 128])
        #expect(scale["shape"] as? [Int] == [3, 4])
        let plain = try #require(try views("model/norm/weight.json").first)
        #expect(plain["dequantized_with"] is NSNull)
        #expect(try views("model/embed/weight.json").isEmpty)
        let withoutView = try JSONSerialization.jsonObject(with: Data(try TensorFileSystem(models: [model.model]).contents(of: "model/norm/weight.json"))) as! [String: Any]
        #expect(withoutView["views"] == nil)
    }

    @Test("a rank's .f32.npy is its slice of the whole .f32.npy, cut by rows or by columns, across blocks or not", arguments: [2, 4, 5])
    func rankSlices(degree: Int) throws {
        let model = try Self.deepSeekModel()
        let plan = try TensorParallelPlan(models: [model.model], options: TensorParallelOptions(degrees: [degree], uneven: .arraySplit))
        let fs = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views), tensorParallel: plan)
        for (name, dimension) in [("model.layers.0.self_attn.q_proj.weight", 0), ("model.layers.0.self_attn.o_proj.weight", 1)] {
            let path = name.replacingOccurrences(of: ".", with: "/") + ".f32.npy"
            let whole = Self.values(ofNpy: try fs.contents(of: path), shape: [300, 400])
            let extent = dimension == 0 ? 300 : 400
            var start = 0
            for rank in 0..<degree {
                let length = extent / degree + (rank < extent % degree ? 1 : 0)
                let shape: [UInt64] = dimension == 0 ? [UInt64(length), 400] : [300, UInt64(length)]
                let slice = Self.values(ofNpy: try fs.contents(of: "tp-\(degree)/rank-\(rank)/" + path, chunk: 9_999), shape: shape)
                let expected = (0..<Int(shape[0])).flatMap { row in
                    (0..<Int(shape[1])).map { column in
                        dimension == 0 ? whole[(start + row) * 400 + column] : whole[row * 400 + start + column]
                    }
                }
                #expect(Self.same(slice, expected), "\(name), rank \(rank) of \(degree)")
                start += length
            }
        }
    }

    @Test("a scale that fits its weight nowhere refuses the mount with the f32 view, on one line naming the file, the weight and its scale")
    func misfitRefused() throws {
        let model = try TestModel([CraftedTensor("w.weight", .f8E4M3, [300, 400]), CraftedTensor("w.weight_scale_inv", .f32, [2, 4])], config: Self.deepSeekConfig)
        _ = try TensorFileSystem(models: [model.model])
        do {
            _ = try TensorFileSystem(models: [model.model], options: FileSystemOptions(views: Self.f32Views))
            Issue.record("the mount was not refused")
        } catch {
            #expect(error.description == "\(model.path): tensor `w.weight` (F8_E4M3 [300,400]) cannot be dequantized for the f32 view: its scale `w.weight_scale_inv` has shape [2,4], where one value, [300,1] or [300] (one per row), [3,4] (one per 128x128 block, from config.json's quantization_config.weight_block_size) would fit; mount without the f32 view to serve it as stored")
        }
    }
}
