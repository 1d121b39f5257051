/// Which files of a directory SOURCE travel with the weights as companion files: every file
/// below it but the weights, which the merged `model.safetensors` replaces, and weights in other
/// formats at its top, which would be multi-GB duplicates (unless asked for).
enum CompanionRules {
    /// Folders never entered: version control, which may hold every past version of the weights.
    static let skippedDirectories: Set<String> = [".git", ".hg", ".svn"]

    /// The ends of the names of weights in other formats: PyTorch pickles (`pytorch_model.bin`,
    /// `*.pt`, `*.pth`, `*.ckpt`) and their indexes, GGUF/GGML, TensorFlow/Keras (`*.h5`),
    /// Flax (`*.msgpack`), ONNX, TFLite.
    static let otherWeightSuffixes = [
        ".bin", ".bin.index.json", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".h5", ".msgpack",
        ".onnx", ".onnx_data", ".tflite",
    ]

    /// Why the file at `relativePath` below the directory is not a companion file, or nil when
    /// it is one.
    static func exclusion(of relativePath: String, includesOtherWeights: Bool) -> Exclusion? {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." || $0.utf8.count > 255 || $0.utf8.contains(0) }) {
            return .invalidPath
        }
        let isTopLevel = components.count == 1
        guard isTopLevel else {
            return isRankDirectory(relativePath) ? .rankDirectory : nil
        }
        if relativePath.hasSuffix(".safetensors") || relativePath.hasSuffix(".safetensors.index.json") { return .safetensorsWeights }
        if ModelFileKind.allCases.contains(where: { $0.fileName == relativePath }) { return .generatedFile }
        if !includesOtherWeights && otherWeightSuffixes.contains(where: relativePath.hasSuffix) { return .otherWeights }
        return nil
    }

    /// Why a file is not a companion.
    enum Exclusion: Equatable {
        /// The model's weights: shown as the tree and `model.safetensors`.
        case safetensorsWeights
        /// Weights in another format, left out unless asked for.
        case otherWeights
        /// A name tensorfs generates at the model's root.
        case generatedFile
        /// A file in a top-level folder spelled like a tensor-parallel one (`tp-8/`).
        case rankDirectory
        /// A path no file can have (an object key like `a//b` or `../b`).
        case invalidPath
    }

    /// Whether `relativePath` lies in a top-level folder named like `tp-N`.
    private static func isRankDirectory(_ relativePath: String) -> Bool {
        TensorParallelNames.isDegreeDirectoryName(relativePath.utf8.prefix { $0 != UInt8(ascii: "/") })
    }
}
