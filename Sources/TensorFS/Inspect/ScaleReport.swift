import SafetensorsFormat

/// What `tensorfs inspect` says of a model's FP8 scales: which tensors carry one (as the f32
/// view pairs them), the block size found in `config.json`, and why the f32 view would refuse
/// the model, if it would.
struct ScaleReport {
    /// The scale of each scaled tensor, by the tensor's name.
    let scales: [String: ScaleBinding]
    /// The model's `config.json`, as far as quantization goes, if it has one that parses.
    let config: QuantizationConfig?
    /// Why the f32 view would refuse the model, or why `config.json` could not be read.
    let problems: [String]

    /// The scales of `model`'s tensors, with its `config.json`.
    init(model: LogicalModel) {
        let config = ModelConfigFile.quantizationConfig(of: model)
        var problems: [String] = []
        if case .failure(let error) = config { problems.append("\(error)") }
        do {
            let byIndex = try DequantizationPlan.scales(of: model, config: config)
            scales = Dictionary(uniqueKeysWithValues: byIndex.map { (model.tensors[$0.key].name, $0.value) })
        } catch {
            scales = [:]
            problems.append("\(error)")
        }
        self.config = try? config.get()
        self.problems = problems
    }

    /// Whether there is anything to say.
    var isEmpty: Bool { scales.isEmpty && config?.blockScaling == nil && problems.isEmpty }

    /// A table of the scaled tensors among `tensors`, then a line on the block size and the
    /// count of scaled tensors, then the problems.
    func table(of tensors: ArraySlice<ModelTensor>, listingTensors: Bool) -> String {
        var lines: [String] = []
        if listingTensors {
            let rows = tensors.compactMap { tensor in
                scales[tensor.name].map { scale in
                    [escapedForOneLine(tensor.name), tensor.info.dtype.name, escapedForOneLine(scale.tensor.name),
                     Self.granularityText(scale), ExtendedAttribute.shapeText(scale.tensor.info.shape)]
                }
            }
            if !rows.isEmpty {
                lines.append(TextTable(header: ["SCALED TENSOR", "DTYPE", "SCALE", "GRANULARITY", "SCALE SHAPE"], rows: rows, rightAligned: []).text)
            }
        }
        let block = config?.blockScaling.map { "block size \($0.size) (config.json \($0.origin.rawValue))" } ?? "no block size in config.json"
        lines.append("\(scales.count) FP8 tensors carry scales; \(block)")
        lines += problems.map { "f32 view: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// `"block 128x128"`, `"channel"`, `"tensor"`.
    static func granularityText(_ scale: ScaleBinding) -> String {
        if case .block(let size) = scale.grid.granularity { return "block \(size)" }
        return scale.grid.granularity.name
    }
}
