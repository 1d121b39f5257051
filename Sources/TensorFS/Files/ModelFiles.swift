import ByteSources
import SafetensorsFormat

/// The files at a model's root that stand for the whole model.
enum ModelFileKind: UInt8, CaseIterable, Sendable {
    /// `__metadata__.json`: what the model is made of.
    case metadata
    /// `model.safetensors`: the whole model as one safetensors file.
    case safetensors

    /// The file's name.
    var fileName: String {
        switch self {
        case .metadata: "__metadata__.json"
        case .safetensors: "model.safetensors"
        }
    }
}

/// The model files of every model: `__metadata__.json` and `model.safetensors` at a model's
/// root, and in a rank's tree, the rank's own.
struct ModelFiles: Sendable {
    let models: [LogicalModel]
    /// Each model's `model.safetensors`, or why it has none.
    let merged: [Result<MergedModel, MergedModelUnavailable>]
    private let metadata: [Lazy<GeneratedBytes>]
    /// The newest modification time among each model's sources.
    let newestTimes: [Timestamp]
    private let tensorParallel: TensorParallelViews?

    init(models: [LogicalModel], merged: [Result<MergedModel, MergedModelUnavailable>], tensorParallel: TensorParallelViews?) {
        self.models = models
        self.merged = merged
        self.tensorParallel = tensorParallel
        metadata = zip(models, merged).map { model, plan in
            Lazy { GeneratedBytes(MetadataFile.bytes(for: model, merged: plan)) }
        }
        newestTimes = models.map { model in model.shards.map(\.source.modificationTime).max() ?? .zero }
    }

    /// The files model `number`'s root shows.
    func kinds(ofModel number: Int) -> [ModelFileKind] {
        if case .success = merged[number] { return [.metadata, .safetensors] }
        return [.metadata]
    }

    /// The bytes generated for the file `kind` of model `model` (or of the rank whose tree is
    /// `mirror`) when it is opened.
    func generatedBytes(_ kind: ModelFileKind, model: Int, mirror: Int?) -> GeneratedBytes? {
        switch (kind, mirror) {
        case (.metadata, nil): metadata[model].value
        case (.metadata, let view?): tensorParallel?.metadata(ofView: view)
        case (.safetensors, nil): try? merged[model].get().header(for: models[model])
        case (.safetensors, let view?): tensorParallel?.modelFileHeader(ofView: view)
        }
    }

    /// The file `kind` of model `model` (or of the rank whose tree is `mirror`), starting with
    /// `generated` (from `generatedBytes`).
    func contents(_ kind: ModelFileKind, model: Int, mirror: Int?, generated: GeneratedBytes?) -> FileContents {
        switch (kind, mirror) {
        case (.metadata, _):
            return FileContents(generated: generated)
        case (.safetensors, nil):
            guard case .success(let file) = merged[model] else { return FileContents(generated: nil) }
            return file.contents(of: models[model], header: generated)
        case (.safetensors, let view?):
            return tensorParallel?.modelFileContents(ofView: view, header: generated) ?? FileContents(generated: nil)
        }
    }

    /// The size of the file `kind` of model `model` (or of the rank whose tree is `mirror`),
    /// found without writing a header.
    func size(_ kind: ModelFileKind, model: Int, mirror: Int?) -> UInt64 {
        switch (kind, mirror) {
        case (.metadata, _): UInt64(generatedBytes(.metadata, model: model, mirror: mirror)?.count ?? 0)
        case (.safetensors, nil): (try? merged[model].get().size) ?? 0
        case (.safetensors, let view?): tensorParallel?.modelFileSize(ofView: view) ?? 0
        }
    }
}
