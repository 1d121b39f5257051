import SafetensorsFormat

/// What the user asked of tensor-parallel views.
public struct TensorParallelOptions: Sendable, Hashable {
    /// The degrees to show, each as a `tp-N` directory.
    public var degrees: [Int]
    /// How tensors are cut.
    public var rules: SliceRules
    /// What happens when a dimension does not divide by a degree.
    public var uneven: UnevenSplit
    /// The most memory gathered (strided) slices may keep, in bytes.
    public var cacheBudget: Int

    /// The largest degree accepted: each rank is a whole tree of files.
    public static let maximumDegree = 4096

    /// Creates options; by default the built-in rules, uneven splits refused, 256 MiB of cache.
    public init(degrees: [Int], rules: SliceRules = .defaults, uneven: UnevenSplit = .error, cacheBudget: Int = 256 << 20) {
        self.degrees = degrees
        self.rules = rules
        self.uneven = uneven
        self.cacheBudget = cacheBudget
    }
}

/// How one tensor is shared among ranks, whatever the degree.
enum TensorSlicing: Hashable, Sendable {
    /// Every rank holds the whole tensor.
    case replicated
    /// Each rank holds a part cut along this dimension (never negative).
    case split(dimension: Int)
}

/// How every tensor of the mounted models is cut, checked for every degree and rank before
/// anything is mounted: a tensor that cannot be cut fails the mount with its name.
public struct TensorParallelPlan: Sendable {
    /// The options the plan was made with; `degrees` sorted, without repeats.
    public let options: TensorParallelOptions
    /// Per model, per tensor (in the model's order).
    let slicings: [[TensorSlicing]]

    /// Matches every tensor against the rules and checks each cut.
    public init(models: [LogicalModel], options: TensorParallelOptions) throws(TensorParallelError) {
        var options = options
        options.degrees = Array(Set(options.degrees)).sorted()
        for degree in options.degrees where degree < 1 || degree > TensorParallelOptions.maximumDegree {
            throw .degree(degree, reason: "the number of ranks must be between 1 and \(TensorParallelOptions.maximumDegree)")
        }
        self.options = options
        slicings = try models.map { (model) throws(TensorParallelError) -> [TensorSlicing] in
            try model.tensors.map { (tensor) throws(TensorParallelError) -> TensorSlicing in
                try TensorParallelPlan.slicing(of: tensor, in: model, options: options)
            }
        }
    }

    /// Rank `rank` of `degree`'s part of tensor `index` of model `model`; the cut was checked.
    func geometry(model: LogicalModel, modelNumber: Int, tensor index: Int, degree: Int, rank: Int) -> SliceGeometry {
        let info = model.tensors[index].info
        switch slicings[modelNumber][index] {
        case .replicated:
            return .whole(info)
        case .split(let dimension):
            do {
                return try SliceGeometry.cut(info, dimension: dimension, rank: rank, degree: degree, uneven: options.uneven)
            } catch {
                fatalError("a cut checked at mount failed: \(error)")
            }
        }
    }

    private static func slicing(of tensor: ModelTensor, in model: LogicalModel, options: TensorParallelOptions) throws(TensorParallelError) -> TensorSlicing {
        guard let rule = options.rules.rule(for: tensor.name), case .split(let requested) = rule.action else {
            return .replicated
        }
        let info = tensor.info
        let described = "(\(info.dtype.name) [\(info.shape.map(String.init).joined(separator: ", "))]), matched by rule \(rule),"
        let file = model.shards[tensor.shard].relativeName
        // A cut can only fall inside a byte, for some ranks and not others, when elements are
        // narrower than a byte; otherwise what holds for rank 0 holds for every rank.
        let checksEveryRank = info.dtype.bitsPerElement % 8 != 0
        for degree in options.degrees {
            for rank in 0..<(checksEveryRank ? degree : 1) {
                do {
                    _ = try SliceGeometry.cut(info, dimension: requested, rank: rank, degree: degree, uneven: options.uneven)
                } catch {
                    throw .unsplittable(file: file, tensor: tensor.name, reason: "\(described) \(explanation(of: error, info: info, dimension: requested, degree: degree))")
                }
            }
        }
        return .split(dimension: requested < 0 ? requested + info.shape.count : requested)
    }

    private static func explanation(of problem: SliceGeometry.Problem, info: TensorInfo, dimension: Int, degree: Int) -> String {
        switch problem {
        case .noSuchDimension:
            return "has no dimension \(dimension): it has \(info.shape.count)"
        case .uneven(let extent):
            return "cannot be cut into \(degree) equal parts along dimension \(dimension) of size \(extent); add a rule for it, or allow uneven parts with --tp-uneven array-split"
        case .cutInsideByte(let indices, let bitsPerIndex):
            return "cannot be cut into \(degree) parts along dimension \(dimension): a cut would fall inside a byte (\(indices) indices of \(bitsPerIndex) bits are not whole bytes)"
        }
    }
}
