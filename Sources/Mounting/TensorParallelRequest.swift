import TensorFS

/// The tensor-parallel views asked for (`--tp` and its companions): which degrees, and the
/// rules that say how tensors are cut, as given.
public struct TensorParallelRequest: Sendable, Codable, Equatable {
    /// The degrees, each shown as a `tp-N` directory.
    public var degrees: [Int]
    /// Rules given one by one (`PATTERN DIM` or `PATTERN replicate`), checked first.
    public var rules: [String]
    /// A file of rules, absolute, checked after `rules`.
    public var rulesFile: String?
    /// Whether the built-in Llama/Mistral/Qwen rules are left out.
    public var withoutDefaultRules: Bool
    /// What happens when a dimension does not divide by a degree.
    public var uneven: UnevenSplit
    /// Memory for gathered slices, in MiB.
    public var cacheMiB: Int

    /// A request with every part given.
    public init(degrees: [Int], rules: [String], rulesFile: String?, withoutDefaultRules: Bool, uneven: UnevenSplit, cacheMiB: Int) {
        self.degrees = degrees
        self.rules = rules
        self.rulesFile = rulesFile
        self.withoutDefaultRules = withoutDefaultRules
        self.uneven = uneven
        self.cacheMiB = cacheMiB
    }

    /// The cut of every tensor of `models`.
    public func plan(for models: [LogicalModel]) throws(TensorParallelError) -> TensorParallelPlan {
        var list: [SliceRule] = []
        for rule in rules { list.append(try SliceRule(parsing: rule, origin: "--tp-rule")) }
        if let rulesFile { list += try SliceRules(contentsOf: rulesFile).rules }
        if !withoutDefaultRules { list += SliceRules.defaults.rules }
        let options = TensorParallelOptions(degrees: degrees, rules: SliceRules(list), uneven: uneven, cacheBudget: cacheMiB << 20)
        return try TensorParallelPlan(models: models, options: options)
    }
}
