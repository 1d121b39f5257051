import SafetensorsFormat

/// The `tp-N/rank-R/` trees of a mount: how rank views and slices are numbered (the payloads of
/// their nodes), what their files hold, and the gatherer that serves strided slices.
///
/// A rank view is one rank of one degree of one model; views are numbered model by model,
/// degree by degree, rank by rank. Slice number `view.firstSlice + t` is the view's part of
/// the model's tensor `t`.
final class TensorParallelViews: Sendable {
    /// One rank of one degree of one model.
    struct RankView: Sendable {
        var model: Int
        var degree: Int
        var rank: Int
        /// The number of the view's slice of the model's first tensor.
        var firstSlice: Int
    }

    let plan: TensorParallelPlan
    let models: [LogicalModel]
    let views: [RankView]
    /// Each view's `model.safetensors`, or why it has none.
    private let modelFiles: [Result<RankModelFile, MergedModelUnavailable>]
    private let metadataFiles: [Lazy<GeneratedBytes>]
    let gatherer: SliceGatherer

    /// Numbers the views of `models` and plans each rank's `model.safetensors`.
    init(models: [LogicalModel], plan: TensorParallelPlan) {
        self.plan = plan
        self.models = models
        var views: [RankView] = []
        var nextSlice = 0
        for (number, model) in models.enumerated() {
            for degree in plan.options.degrees {
                for rank in 0..<degree {
                    views.append(RankView(model: number, degree: degree, rank: rank, firstSlice: nextSlice))
                    nextSlice += model.tensors.count
                }
            }
        }
        self.views = views
        let allViews = views
        gatherer = SliceGatherer(budget: plan.options.cacheBudget)
        let files = views.map { view in
            RankModelFile.plan(for: models[view.model], slices: TensorParallelViews.slices(of: view, models: models, plan: plan))
        }
        modelFiles = files
        metadataFiles = views.indices.map { number in
            Lazy {
                let view = allViews[number]
                return GeneratedBytes(SliceDescriptions.rankMetadata(
                    model: models[view.model], slices: TensorParallelViews.slices(of: view, models: models, plan: plan),
                    degree: view.degree, rank: view.rank, uneven: plan.options.uneven, modelFile: files[number]))
            }
        }
    }

    /// A view's part of every tensor of its model, in order.
    private static func slices(of view: RankView, models: [LogicalModel], plan: TensorParallelPlan) -> [SliceGeometry] {
        models[view.model].tensors.indices.map {
            plan.geometry(model: models[view.model], modelNumber: view.model, tensor: $0, degree: view.degree, rank: view.rank)
        }
    }

    /// Adds `tp-N/rank-R/` below `root` for every view of model `number`: each a whole tree of
    /// the rank's slices at the model's `paths`, with its own `__metadata__.json` and
    /// `model.safetensors`.
    func addTrees(ofModel number: Int, paths: [PathComponents], at root: UInt32, to builder: inout NamespaceBuilder, views viewSet: ViewSet) {
        for (viewNumber, view) in views.enumerated() where view.model == number {
            let degreeDirectory = builder.directory(named: TensorParallelNames.degreeDirectory(view.degree), in: root)
            let rankDirectory = builder.directory(named: TensorParallelNames.rankDirectory(view.rank), in: degreeDirectory)
            var generated: [NodeKind] = [.rankMetadata]
            if case .success = modelFiles[viewNumber] { generated.append(.rankModel) }
            builder.addModel(models[number], paths: paths, number: UInt32(viewNumber), firstTensor: view.firstSlice, at: rankDirectory,
                             views: viewSet, generatedFiles: generated, fileKinds: .slices)
        }
    }

    /// The view that slice `number` belongs to, and the model's tensor index it slices.
    private func locate(slice number: Int) -> (view: Int, tensor: Int) {
        let view = views.lazy.map(\.firstSlice).lastIndex(atOrBelow: number)
        return (view, number - views[view].firstSlice)
    }

    /// The tensor that slice `number` is a part of, with its model.
    func tensor(ofSlice number: Int) -> (model: LogicalModel, tensor: ModelTensor) {
        let (view, tensor) = locate(slice: number)
        let model = models[views[view].model]
        return (model, model.tensors[tensor])
    }

    /// The model a view shows.
    func modelNumber(ofView number: Int) -> Int {
        views[number].model
    }

    private func geometry(view: Int, tensor: Int) -> SliceGeometry {
        let view = views[view]
        return plan.geometry(model: models[view.model], modelNumber: view.model, tensor: tensor, degree: view.degree, rank: view.rank)
    }

    // MARK: Contents

    /// The bytes tensorfs generates for a slice or rank file.
    func generatedPrefix(kind: NodeKind, payload: Int) -> GeneratedBytes? {
        switch kind {
        case .sliceSidecar:
            let (view, index) = locate(slice: payload)
            let model = models[views[view].model]
            return GeneratedBytes(SliceDescriptions.sidecar(
                of: geometry(view: view, tensor: index), tensor: model.tensors[index], in: model,
                degree: views[view].degree, rank: views[view].rank))
        case .sliceNpy:
            let (view, index) = locate(slice: payload)
            let slice = geometry(view: view, tensor: index)
            let info = models[views[view].model].tensors[index].info
            return GeneratedBytes(NpyHeader.bytes(for: TensorInfo(
                name: info.name, dtype: info.dtype, shape: slice.shape, dataOffsets: ByteRange(start: 0, end: slice.byteCount))))
        case .rankMetadata:
            return metadataFiles[payload].value
        case .rankModel:
            return try? modelFiles[payload].get().header
        default:
            return nil
        }
    }

    /// How a slice or rank file is made; `generated` is what `generatedPrefix` returned, if known.
    func fileLayout(kind: NodeKind, payload: Int, generated: GeneratedBytes?) -> FileLayout {
        switch kind {
        case .slice, .sliceNpy:
            let (view, index) = locate(slice: payload)
            let run = SliceRun(views: self, view: view, firstTensor: index, starts: [0, geometry(view: view, tensor: index).byteCount])
            let prefix = kind == .sliceNpy ? generated ?? generatedPrefix(kind: kind, payload: payload) : nil
            return FileLayout(prefix: prefix, body: .slices(run))
        case .rankModel:
            guard case .success(let file) = modelFiles[payload] else { return FileLayout(prefix: nil, body: .none) }
            return FileLayout(prefix: file.header, body: .slices(SliceRun(views: self, view: payload, firstTensor: 0, starts: file.dataStarts)))
        default:
            return FileLayout(prefix: generated ?? generatedPrefix(kind: kind, payload: payload), body: .none)
        }
    }

    /// Calls `visit` with the segments holding `range` of the view's slice of tensor `index`:
    /// a range of the source when the slice is contiguous there, else parts of gathered blocks.
    func forEachSegment(ofSlice index: Int, in view: Int, range: ByteRange, _ visit: (FileLayout.Segment) -> Void) {
        let model = models[views[view].model]
        let tensor = model.tensors[index]
        let source = model.shards[tensor.shard].source
        let slice = geometry(view: view, tensor: index)
        if slice.isContiguous {
            let start = tensor.fileRange.start + slice.firstOffset
            visit(.source(FileLayout.SourceSegment(
                source: source, range: ByteRange(start: start + range.start, end: start + range.end),
                extent: ByteRange(start: start, end: start + slice.byteCount), readsAheadWithinExtent: true)))
            return
        }
        let strided = StridedSlice(number: views[view].firstSlice + index, source: source, tensorStart: tensor.fileRange.start, geometry: slice)
        var position = range.start
        while position < range.end {
            let block = position / SliceGatherer.blockSize
            let blockStart = block * SliceGatherer.blockSize
            let end = min(range.end, blockStart + SliceGatherer.blockSize)
            visit(.gathered(GatheredPiece(gatherer: gatherer, slice: strided, block: block,
                                          range: Int(position - blockStart)..<Int(end - blockStart))))
            position = end
        }
    }

    /// The `user.tensorfs.*` attributes of a slice's files: the tensor's, with the slice's
    /// shape, plus `global_shape` and, for a cut, `slice_dim`, `slice_start` and `slice_length`.
    func extendedAttributes(ofSlice number: Int) -> [ExtendedAttribute] {
        let (view, index) = locate(slice: number)
        let model = models[views[view].model]
        let tensor = model.tensors[index]
        let slice = geometry(view: view, tensor: index)
        var attributes = ExtendedAttribute.describing(tensor, in: model, shape: slice.shape)
        attributes.append(.named("global_shape", ExtendedAttribute.shapeText(tensor.info.shape)))
        if let cut = slice.cut {
            attributes += [.named("slice_dim", String(cut.dimension)), .named("slice_start", String(cut.start)),
                           .named("slice_length", String(cut.length))]
        }
        return attributes
    }
}
