import ByteSources
import SafetensorsFormat
import Testing
@testable import TensorFS

/// Which scale dequantizes which FP8 weight, and which scales refuse the mount.
@Suite("dequantization plan")
struct DequantizationPlanTests {
    static let blocks = Result<QuantizationConfig?, ModelError>.success(QuantizationConfig(method: "fp8", blockScaling: .init(size: .init(rows: 128, columns: 128), origin: .weightBlockSize)))

    /// The scales planned for a model of `tensors`, as `weight: (scale, granularity)`.
    static func plan(_ tensors: [CraftedTensor], config: Result<QuantizationConfig?, ModelError> = blocks) throws -> [String: String] {
        let model = try CraftedModel.load([("model.safetensors", tensors)]).0
        let scales = try DequantizationPlan.scales(of: model, config: config)
        return Dictionary(uniqueKeysWithValues: scales.map { index, scale in
            (model.tensors[index].name, "\(scale.tensor.name) \(ScaleReport.granularityText(scale))")
        })
    }

    /// The line a model of `tensors` is refused with.
    static func refusal(_ tensors: [CraftedTensor], config: Result<QuantizationConfig?, ModelError> = blocks) throws -> String {
        do {
            let planned = try plan(tensors, config: config)
            Issue.record("not refused: \(planned)")
            return ""
        } catch let error as ModelError {
            #expect(!error.description.contains("\n"))
            return error.description
        }
    }

    @Test("X_scale_inv scales any FP8 tensor X; X_scale only a weight; per tensor, per row or per block")
    func pairing() throws {
        let planned = try Self.plan([
            CraftedTensor("a.weight", .f8E4M3, [300, 400]), CraftedTensor("a.weight_scale_inv", .f32, [3, 4]),
            CraftedTensor("b.weight", .f8E5M2, [64, 8]), CraftedTensor("b.weight_scale", .bf16, [64, 1]),
            CraftedTensor("c.weight", .f8E4M3FNUZ, [64, 8]), CraftedTensor("c.weight_scale", .f16, [64]),
            CraftedTensor("d.weight", .f8E5M2FNUZ, [4, 8]), CraftedTensor("d.weight_scale_inv", .f32, []),
            CraftedTensor("e.weight", .f8E4M3, [2, 300, 400]), CraftedTensor("e.weight_scale_inv", .f32, [2, 3, 4]),
            CraftedTensor("f.bias", .f8E4M3, [8]), CraftedTensor("f.bias_scale", .f32, [1]),
            CraftedTensor("g.bias", .f8E4M3, [8]), CraftedTensor("g.bias_scale_inv", .f32, [1]),
            CraftedTensor("h.weight", .bf16, [4, 4]), CraftedTensor("h.weight_scale", .f32, [4, 1]),
            CraftedTensor("i.weight", .f8E4M3, [4, 4]),
        ])
        #expect(planned == [
            "a.weight": "a.weight_scale_inv block 128x128", "b.weight": "b.weight_scale channel", "c.weight": "c.weight_scale channel",
            "d.weight": "d.weight_scale_inv tensor", "e.weight": "e.weight_scale_inv block 128x128", "g.bias": "g.bias_scale_inv tensor",
        ])
    }

    @Test("a scale of the wrong shape is refused, saying which shapes would fit")
    func wrongShape() throws {
        let line = try Self.refusal([CraftedTensor("a.weight", .f8E4M3, [300, 400]), CraftedTensor("a.weight_scale_inv", .f32, [3, 3])])
        #expect(line == "memory:/model/model.safetensors: tensor `a.weight` (F8_E4M3 [300,400]) cannot be dequantized for the f32 view: its scale `a.weight_scale_inv` has shape [3,3], where one value, [300,1] or [300] (one per row), [3,4] (one per 128x128 block, from config.json's quantization_config.weight_block_size) would fit; mount without the f32 view to serve it as stored")
        let vector = try Self.refusal([CraftedTensor("v.weight", .f8E4M3, [8]), CraftedTensor("v.weight_scale", .f32, [8])])
        #expect(vector.contains("has shape [8], where one value would fit"))
    }

    @Test("block scales without a block size are refused, saying why the size is unknown")
    func noBlockSize() throws {
        let tensors = [CraftedTensor("a.weight", .f8E4M3, [300, 400]), CraftedTensor("a.weight_scale_inv", .f32, [3, 4])]
        #expect(try Self.refusal(tensors, config: .success(nil)).contains("one per block (but the model has no config.json to give a block size: mount the model's directory, which brings it along)"))
        #expect(try Self.refusal(tensors, config: .success(QuantizationConfig(method: "fbgemm_fp8"))).contains("config.json's quantization_config gives no block size for method `fbgemm_fp8`"))
        let broken = ModelError.format(SafetensorsError(file: "m/config.json", problem: .invalidConfig(reason: "not valid JSON")))
        #expect(try Self.refusal(tensors, config: .failure(broken)).contains("config.json could not be read for the block size: m/config.json: not valid JSON"))
        #expect(try Self.plan([CraftedTensor("b.weight", .f8E4M3, [4, 4]), CraftedTensor("b.weight_scale", .f32, [4, 1])], config: .failure(broken)) == ["b.weight": "b.weight_scale channel"])
    }

    @Test("a scale of another dtype, or two scales for one weight, are refused")
    func otherRefusals() throws {
        #expect(try Self.refusal([CraftedTensor("a.weight", .f8E4M3, [4, 4]), CraftedTensor("a.weight_scale", .f8E8M0, [4, 1])])
            .contains("its scale `a.weight_scale` is F8_E8M0, not F32, BF16, F16"))
        #expect(try Self.refusal([CraftedTensor("a.weight", .f8E4M3, [4, 4]), CraftedTensor("a.weight_scale", .f32, [4, 1]), CraftedTensor("a.weight_scale_inv", .f32, [4, 1])])
            .contains("its scale `a.weight_scale_inv` has a rival beside it, `a.weight_scale`, and which applies is unclear"))
    }

    @Test("a scale grid numbers blocks row-major, matrix by matrix, with ragged last blocks")
    func grid() {
        let block = ScaleGrid(.block(.init(rows: 128, columns: 128)), covering: [2, 300, 400])
        #expect(block.scaleIndex(row: 0, column: 0) == 0)
        #expect(block.scaleIndex(row: 127, column: 399) == 3)
        #expect(block.scaleIndex(row: 299, column: 128) == 9)
        #expect(block.scaleIndex(row: 300, column: 0) == 12)
        #expect(block.scaleIndex(row: 599, column: 399) == 23)
        #expect(block.blockEnd(after: 130) == 256)
        let channel = ScaleGrid(.channel, covering: [2, 300, 400])
        #expect(channel.scaleIndex(row: 301, column: 399) == 301)
        #expect(channel.blockEnd(after: 5) == .max)
        let tensor = ScaleGrid(.tensor, covering: [300, 400])
        #expect(tensor.scaleIndex(row: 299, column: 399) == 0)
    }
}
