import SafetensorsFormat

/// The `tp-N/rank-R/` trees of a mount: which rank views there are, what a rank's slice of a
/// tensor is, what a rank's root files hold, and the gatherer that serves strided slices.
///
/// A rank view is one rank of one degree of one model; views are numbered model by model,
/// degree by degree, rank by rank, and a view's tree is the namespace's mirror of the same
/// number. Nothing is made per rank when mounting: a rank's tree mirrors its model's, its
/// slices are computed when read, and its root files are planned when first looked at.
final class TensorParallelViews: Sendable {
    /// One rank of one degree of one model.
    struct RankView: Sendable {
        var model: Int
        var degree: Int
        var rank: Int
    }

    let plan: TensorParallelPlan
    let models: [LogicalModel]
    let views: [RankView]
    /// Each view's `model.safetensors`, planned when first needed.
    private let modelFiles: [Lazy<RankModelFile>]
    private let metadataFiles: [Lazy<GeneratedBytes>]
    let gatherer: SliceGatherer

    /// Numbers the views of `models`. A rank has a `model.safetensors` when its model has one
    /// (`mergedModels`, per model): a rank's header is never longer than its model's.
    init(models: [LogicalModel], plan: TensorParallelPlan, mergedModels: [Result<MergedModel, MergedModelUnavailable>]) {
        self.plan = plan
        self.models = models
        var views: [RankView] = []
        for number in models.indices {
            for degree in plan.options.degrees {
                for rank in 0..<degree { views.append(RankView(model: number, degree: degree, rank: rank)) }
            }
        }
        self.views = views
        gatherer = SliceGatherer(budget: plan.options.cacheBudget)
        let allViews = views
        let files = allViews.map { view in
            Lazy { RankModelFile(model: models[view.model], slices: TensorParallelViews.slices(of: view, models: models, plan: plan)) }
        }
        modelFiles = files
        metadataFiles = allViews.indices.map { number in
            Lazy {
                let view = allViews[number]
                return GeneratedBytes(RankMetadataFile.bytes(
                    model: models[view.model], slices: TensorParallelViews.slices(of: view, models: models, plan: plan),
                    degree: view.degree, rank: view.rank, uneven: plan.options.uneven,
                    modelFile: mergedModels[view.model].map { _ in files[number].value.size }))
            }
        }
    }

    /// A view's part of every tensor of its model, in order.
    private static func slices(of view: RankView, models: [LogicalModel], plan: TensorParallelPlan) -> [SliceGeometry] {
        models[view.model].tensors.indices.map {
            plan.geometry(model: models[view.model], modelNumber: view.model, tensor: $0, degree: view.degree, rank: view.rank)
        }
    }

    /// Adds `tp-N/rank-R/` below `root` for every view of model `number`: each a mirror of the
    /// model's tree `tree`.
    func addTrees(ofModel number: Int, tree: Int, at root: UInt32, to builder: inout NamespaceBuilder) {
        for (viewNumber, view) in views.enumerated() where view.model == number {
            let degreeDirectory = builder.directory(named: TensorParallelNames.degreeDirectory(view.degree), in: root)
            let mirror = builder.addMirror(of: tree, named: TensorParallelNames.rankDirectory(view.rank), in: degreeDirectory)
            precondition(mirror == viewNumber, "rank trees are mirrored in the order of their views")
        }
    }

    /// Rank view `view`'s slice of its model's tensor `index`.
    private func geometry(view: Int, tensor index: Int) -> SliceGeometry {
        let view = views[view]
        return plan.geometry(model: models[view.model], modelNumber: view.model, tensor: index, degree: view.degree, rank: view.rank)
    }

    /// Tensor `index` of view `view`'s model as the view presents it: the rank's slice, read
    /// from the source when it is one range of it, else gathered.
    func presented(tensor index: Int, inView view: Int) -> PresentedTensor {
        let model = models[views[view].model]
        let tensor = model.tensors[index]
        let slice = geometry(view: view, tensor: index)
        let source = model.shards[tensor.shard].source
        let bytes: FileContents.Body
        if slice.isContiguous {
            let start = tensor.fileRange.start + slice.firstOffset
            bytes = .source(source, ByteRange(start: start, end: start + slice.byteCount), readsAheadWithinExtent: true)
        } else {
            let strided = StridedSlice(identity: SliceIdentity(view: view, tensor: index), source: source,
                                       tensorStart: tensor.fileRange.start, geometry: slice)
            bytes = .segments(GatheredSlice(gatherer: gatherer, slice: strided))
        }
        return PresentedTensor(model: model, tensor: tensor, rankPart: RankPart(degree: views[view].degree, rank: views[view].rank, geometry: slice), bytes: bytes)
    }

    // MARK: A rank's root files

    /// View `view`'s `__metadata__.json`.
    func metadata(ofView view: Int) -> GeneratedBytes {
        metadataFiles[view].value
    }

    /// The size of view `view`'s `model.safetensors`.
    func modelFileSize(ofView view: Int) -> UInt64 {
        modelFiles[view].value.size
    }

    /// The start of view `view`'s `model.safetensors`, written for an opening.
    func modelFileHeader(ofView view: Int) -> GeneratedBytes {
        let rankView = views[view]
        return modelFiles[view].value.header(model: models[rankView.model], slices: Self.slices(of: rankView, models: models, plan: plan))
    }

    /// View `view`'s `model.safetensors`: `header` (from `modelFileHeader`), then the slices.
    func modelFileContents(ofView view: Int, header: GeneratedBytes?) -> FileContents {
        let starts = modelFiles[view].value.dataStarts
        let slices = ConsecutiveParts(starts: starts) { [self] index, range, visit in
            presented(tensor: index, inView: view).bytes.forEachSegment(in: range, visit)
        }
        return FileContents(prefix: header, body: .segments(slices))
    }

    /// The `user.tensorfs.*` attributes particular to a slice: `global_shape` and, for a cut,
    /// `slice_dim`, `slice_start` and `slice_length`.
    static func extendedAttributes(of part: RankPart, tensor: ModelTensor) -> [ExtendedAttribute] {
        var attributes = [ExtendedAttribute.named("global_shape", ExtendedAttribute.shapeText(tensor.info.shape))]
        if let cut = part.geometry.cut {
            attributes += [.named("slice_dim", String(cut.dimension)), .named("slice_start", String(cut.start)),
                           .named("slice_length", String(cut.length))]
        }
        return attributes
    }
}
