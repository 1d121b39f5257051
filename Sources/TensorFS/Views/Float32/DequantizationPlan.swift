import ByteSources
import SafetensorsFormat

/// How the f32 view computes a tensor's values: widened to float32, then, for a scaled FP8
/// weight, multiplied by its scale in float32 (`np.float32(x) * np.float32(s)`, bit for bit).
struct Float32Conversion: Sendable {
    /// The scale the values are multiplied by, if any.
    var scale: ScaleBinding?
}

/// Which FP8 weights of a mount's models the f32 view dequantizes, and with which scales. Made
/// at mount when the view is shown, so that a scale that does not fit its weight refuses the
/// mount with one line rather than being ignored.
///
/// An FP8 tensor `X` (F8_E4M3, F8_E5M2 or their FNUZ kinds) is dequantized with the tensor
/// `X_scale_inv` beside it (DeepSeek-V3, transformers' `fp8`) or, when `X` ends in `weight`,
/// with `X_scale` (compressed-tensors, FBGEMM); both multiply. The scale is F32, BF16 or F16,
/// and holds one value, one per row (`[..., rows, 1]` or `[..., rows]`: per output channel), or
/// one per block of the last two dimensions (`[..., ⌈rows/br⌉, ⌈columns/bc⌉]`, the block size
/// from `config.json`'s `quantization_config`).
struct DequantizationPlan: Sendable {
    /// The dtypes of weights that are dequantized when a scale is beside them.
    static let scaledDTypes: Set<DType> = [.f8E4M3, .f8E5M2, .f8E4M3FNUZ, .f8E5M2FNUZ]

    /// Per model, the scale of each tensor that has one, by the tensor's index.
    private let scales: [[Int: ScaleBinding]]

    /// Plans the f32 views of `models`, each with what its `config.json` says (or why it could
    /// not be read, which matters only to a weight that needs a block size), read only for a
    /// model that has scales.
    init(models: [LogicalModel], config: (LogicalModel) -> Result<QuantizationConfig?, ModelError>) throws(ModelError) {
        var scales: [[Int: ScaleBinding]] = []
        for model in models { scales.append(try Self.scales(of: model, config: config(model))) }
        self.scales = scales
    }

    /// How tensor `index` of model `model` is computed, when the f32 view shows it.
    func conversion(model: Int, tensor index: Int, dtype: DType) -> Float32Conversion? {
        guard Float32Widening.widens(dtype) else { return nil }
        return Float32Conversion(scale: scales[model][index])
    }

    /// The scale of each tensor of `model` that has one, by the tensor's index.
    static func scales(
        of model: LogicalModel, config readConfig: @autoclosure () -> Result<QuantizationConfig?, ModelError>
    ) throws(ModelError) -> [Int: ScaleBinding] {
        var candidates: [String: Int] = [:]
        for (index, tensor) in model.tensors.enumerated() where tensor.name.hasSuffix("_scale") || tensor.name.hasSuffix("_scale_inv") {
            candidates[tensor.name] = index
        }
        guard !candidates.isEmpty else { return [:] }
        let config = readConfig()
        var scales: [Int: ScaleBinding] = [:]
        for (index, tensor) in model.tensors.enumerated() where scaledDTypes.contains(tensor.info.dtype) {
            let inverse = candidates[tensor.name + "_scale_inv"]
            let direct = tensor.name.hasSuffix("weight") ? candidates[tensor.name + "_scale"] : nil
            guard let scale = inverse ?? direct else { continue }
            let refusal = Refusal(model: model, tensor: tensor, scale: model.tensors[scale])
            if inverse != nil && direct != nil {
                throw refusal.error("has a rival beside it, \(quoted(tensor.name + "_scale")), and which applies is unclear")
            }
            scales[index] = try binding(of: model.tensors[scale], to: tensor, in: model, config: config, refusal: refusal)
        }
        return scales
    }

    private static func binding(
        of scale: ModelTensor, to tensor: ModelTensor, in model: LogicalModel,
        config: Result<QuantizationConfig?, ModelError>, refusal: Refusal
    ) throws(ModelError) -> ScaleBinding {
        guard ScaleBinding.dtypes.contains(scale.info.dtype) else {
            throw refusal.error("is \(scale.info.dtype.name), not \(ScaleBinding.dtypes.map(\.name).joined(separator: ", "))")
        }
        let shape = tensor.info.shape
        let blockSize = (try? config.get())??.blockScaling?.size
        guard let granularity = ScaleGrid.granularity(ofScale: scale.info.shape, for: shape, blockSize: blockSize) else {
            var fitting = ["one value"]
            if shape.count >= 2 {
                fitting.append("\(ExtendedAttribute.shapeText(shape.dropLast() + [1])) or \(ExtendedAttribute.shapeText(Array(shape.dropLast()))) (one per row)")
                fitting.append(blockGridText(for: shape, config: config))
            }
            throw refusal.error("has shape \(ExtendedAttribute.shapeText(scale.info.shape)), where \(fitting.joined(separator: ", ")) would fit")
        }
        return ScaleBinding(tensor: scale, source: model.shards[scale.shard].source, grid: ScaleGrid(granularity, covering: shape))
    }

    /// What a scale of one value per block would be for a weight of `shape`, or why the block
    /// size is unknown.
    private static func blockGridText(for shape: [UInt64], config: Result<QuantizationConfig?, ModelError>) -> String {
        switch config {
        case .success(let config?):
            if let blocks = config.blockScaling {
                return "\(ExtendedAttribute.shapeText(ScaleGrid.blockGridShape(of: shape, blocks.size))) (one per \(blocks.size) block, from config.json's \(blocks.origin.rawValue))"
            }
            return "one per block (but config.json's quantization_config gives no block size\(config.method.map { " for method \(quoted($0))" } ?? ""))"
        case .success(nil):
            return "one per block (but the model has no config.json to give a block size: mount the model's directory, which brings it along)"
        case .failure(let error):
            return "one per block (but config.json could not be read for the block size: \(error))"
        }
    }

    /// Builds the line that refuses to dequantize a weight with its scale.
    private struct Refusal {
        let model: LogicalModel
        let tensor: ModelTensor
        let scale: ModelTensor

        func error(_ reason: String) -> ModelError {
            let elsewhere = scale.shard == tensor.shard ? "" : " (in \(model.shards[scale.shard].relativeName))"
            let described = "\(quoted(tensor.name)) (\(tensor.info.dtype.name) \(ExtendedAttribute.shapeText(tensor.info.shape)))"
            return .inconsistent(
                file: model.shards[tensor.shard].source.displayName,
                reason: "tensor \(described) cannot be dequantized for the f32 view: its scale \(quoted(scale.name))\(elsewhere) \(reason); mount without the f32 view to serve it as stored")
        }
    }
}
