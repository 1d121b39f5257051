import ByteSources
import SafetensorsFormat

/// The files of tensors: every view of every tensor of every model, whole, or in a rank's tree
/// as that rank's slice. Tensors are numbered across the models, model after model.
struct TensorFiles: Sendable {
    let models: [LogicalModel]
    /// Where each model's tensors start in the numbering, plus the total at the end.
    let firstTensor: [Int]
    /// The rank trees, whose mirrors show slices; nil without `--tp`.
    let tensorParallel: TensorParallelViews?
    /// What the f32 view computes for each tensor; nil when the mount does not show it.
    let float32: DequantizationPlan?

    /// The files of `models` in the views `views`: planning the f32 view (when shown) fails
    /// when a scale does not fit its weight.
    init(models: [LogicalModel], tensorParallel: TensorParallelViews?, views: ViewSelection) throws(ModelError) {
        self.models = models
        self.tensorParallel = tensorParallel
        var starts = [0]
        for model in models { starts.append(starts.last! + model.tensors.count) }
        firstTensor = starts
        float32 = views.includes(F32View.self)
            ? try DequantizationPlan(models: models, config: ModelConfigFile.quantizationConfig(of:)) : nil
    }

    /// The model and the index in it of tensor `number`.
    func locate(_ number: Int) -> (model: Int, index: Int) {
        let model = firstTensor.dropLast().lastIndex(atOrBelow: number)
        return (model, number - firstTensor[model])
    }

    /// Tensor `number` as its files show it: in `mirror`, a rank's tree, as the rank's slice;
    /// elsewhere whole.
    func presented(_ number: Int, mirror: Int?) -> PresentedTensor {
        let (modelNumber, index) = locate(number)
        var presented: PresentedTensor
        if let mirror, let tensorParallel {
            presented = tensorParallel.presented(tensor: index, inView: mirror)
        } else {
            let model = models[modelNumber]
            let tensor = model.tensors[index]
            presented = PresentedTensor(model: model, tensor: tensor, rankPart: nil, bytes: .source(model.shards[tensor.shard].source, tensor.fileRange))
        }
        presented.float32 = float32?.conversion(model: modelNumber, tensor: index, dtype: presented.tensor.info.dtype)
        return presented
    }

    /// View `view`'s file of `tensor`, starting with `generated` (what the view generated).
    func contents(view: Int, of tensor: PresentedTensor, generated: GeneratedBytes?) -> FileContents {
        FileContents(prefix: generated, body: TensorViews.all[view].body(for: tensor))
    }

    /// The bytes view `view` generates for `tensor`'s file when it is opened.
    func generatedBytes(view: Int, for tensor: PresentedTensor) -> GeneratedBytes? {
        TensorViews.all[view].generatedBytes(for: tensor).map(GeneratedBytes.init)
    }

    /// When the tensor's source was last modified.
    func modificationTime(of tensor: PresentedTensor) -> Timestamp {
        tensor.model.shards[tensor.tensor.shard].source.modificationTime
    }

    /// The `user.tensorfs.*` attributes of every file of `tensor`: its name, dtype, presented
    /// shape, source file and offset; for a slice, also where it lies in the whole tensor.
    func extendedAttributes(of tensor: PresentedTensor) -> [ExtendedAttribute] {
        let whole = tensor.tensor
        var attributes = [
            ("name", whole.name), ("dtype", whole.info.dtype.name), ("shape", ExtendedAttribute.shapeText(tensor.shape)),
            ("file", tensor.model.shards[whole.shard].relativeName), ("offset", String(whole.fileRange.start)),
        ].map(ExtendedAttribute.named)
        if let part = tensor.rankPart {
            attributes += TensorParallelViews.extendedAttributes(of: part, tensor: whole)
        }
        return attributes
    }
}
