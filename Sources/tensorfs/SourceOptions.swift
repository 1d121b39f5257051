import ArgumentParser
import TensorFS

/// How SOURCE arguments are read: for `mount` and `inspect`.
struct SourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "For a Hugging Face cache folder (models--ORG--NAME): the branch (under refs/) or commit hash to mount instead of main. An hf:// source names its revision itself: hf://ORG/NAME@REVISION.",
        valueName: "REVISION"))
    var revision: String?

    @Flag(help: "Also show weights in other formats (pytorch_model.bin, *.gguf, ...) at the top of a directory SOURCE; by default they are left out.")
    var includeOtherWeights = false

    /// The loader's options.
    var loadOptions: LoadOptions {
        LoadOptions(revision: revision, includesOtherWeights: includeOtherWeights)
    }
}
