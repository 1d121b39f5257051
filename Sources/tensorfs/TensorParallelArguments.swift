import ArgumentParser
import TensorFS

/// The `--tp*` options of `mount`: which tensor-parallel views to add and how tensors are cut.
struct TensorParallelArguments: ParsableArguments {
    @Option(name: .customLong("tp"), help: ArgumentHelp(
        "Add tp-N/rank-R/ for N ranks: each rank's slice of every tensor, and its own model.safetensors (repeatable).",
        valueName: "N"))
    var degrees: [Int] = []

    @Option(name: .customLong("tp-rules"), help: ArgumentHelp(
        "A rules file: lines 'PATTERN DIM' or 'PATTERN replicate', first match wins; checked before the built-in rules.",
        valueName: "FILE"))
    var rulesFile: String?

    @Option(name: .customLong("tp-rule"), help: ArgumentHelp(
        "One rule, 'PATTERN DIM' or 'PATTERN replicate'; checked before the rules file (repeatable).",
        valueName: "RULE"))
    var rules: [String] = []

    @Flag(name: .customLong("tp-no-default-rules"), help: "Drop the built-in Llama/Mistral/Qwen rules: only the given rules apply.")
    var noDefaultRules = false

    @Option(name: .customLong("tp-uneven"), help: ArgumentHelp(
        "A split dimension that does not divide by N: error, or array-split (the first size % N ranks get one more, as numpy.array_split).",
        valueName: "error|array-split"))
    var uneven: UnevenSplit = .error

    @Option(name: .customLong("tp-cache-mib"), help: ArgumentHelp(
        "Memory for gathered slices (those not contiguous in the source), in MiB.", valueName: "MIB"))
    var cacheMiB: Int = 256

    func validate() throws {
        for degree in degrees where degree < 1 || degree > TensorParallelOptions.maximumDegree {
            throw ValidationError("--tp \(degree): the number of ranks must be between 1 and \(TensorParallelOptions.maximumDegree).")
        }
        guard cacheMiB >= 0, cacheMiB <= 1 << 30 else { throw ValidationError("--tp-cache-mib must be between 0 and \(1 << 30).") }
    }

    /// The cut of every tensor of `models`, or nil when no `--tp` was given.
    func plan(for models: [LogicalModel]) throws(TensorParallelError) -> TensorParallelPlan? {
        guard !degrees.isEmpty else { return nil }
        var list: [SliceRule] = []
        for rule in rules { list.append(try SliceRule(parsing: rule, origin: "--tp-rule")) }
        if let rulesFile { list += try SliceRules(contentsOf: rulesFile).rules }
        if !noDefaultRules { list += SliceRules.defaults.rules }
        let options = TensorParallelOptions(degrees: degrees, rules: SliceRules(list), uneven: uneven, cacheBudget: cacheMiB << 20)
        return try TensorParallelPlan(models: models, options: options)
    }

    /// The same options for the background daemon, paths made absolute by `absolute`.
    func daemonArguments(absolute: (String) -> String) -> [String] {
        var arguments = degrees.flatMap { ["--tp", String($0)] }
        if let rulesFile { arguments += ["--tp-rules", absolute(rulesFile)] }
        arguments += rules.flatMap { ["--tp-rule", $0] }
        if noDefaultRules { arguments.append("--tp-no-default-rules") }
        return arguments + ["--tp-uneven", uneven.rawValue, "--tp-cache-mib", String(cacheMiB)]
    }
}

extension UnevenSplit: ExpressibleByArgument {}
