import ArgumentParser
import Mounting
import TensorFS

/// The `--tp*` options of `mount`: which tensor-parallel views to add and how tensors are cut.
struct TensorParallelArguments: ParsableArguments {
    @Option(name: .customLong("tp"), help: ArgumentHelp(
        "Add tp-N/rank-R/ for N ranks: each rank's slice of every tensor, and its own model.safetensors (repeatable).",
        valueName: "N"))
    var degrees: [Int] = []

    @Option(name: .customLong("tp-rules"), help: ArgumentHelp(
        "A rules file: lines 'PATTERN DIM' or 'PATTERN replicate', first match wins; checked before the built-in rules.",
        valueName: "FILE"), completion: .file())
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

    /// The views asked for, the rules file's path made absolute by `absolute`; nil without `--tp`.
    func request(absolute: (String) -> String) -> TensorParallelRequest? {
        guard !degrees.isEmpty else { return nil }
        return TensorParallelRequest(
            degrees: degrees, rules: rules, rulesFile: rulesFile.map(absolute), withoutDefaultRules: noDefaultRules,
            uneven: uneven, cacheMiB: cacheMiB)
    }
}

extension UnevenSplit: ExpressibleByArgument {}
