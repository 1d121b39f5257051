import ByteSources
import Testing
@testable import TensorFS

/// The files that travel with the weights of a directory SOURCE: which ones, where they appear,
/// and what tensors give way to them.
@Suite("companion files")
struct CompanionFilesTests {
    /// A model directory with weights, a config, a tokenizer folder and files that are not companions.
    static func modelDirectory() throws -> ModelDirectory {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("model.safetensors", [("encoder.weight", [1, 2]), ("config", [3])])
        try directory.write("config.json", text: #"{"model_type": "bert"}"#)
        try directory.write(".gitattributes", text: "*.safetensors filter=lfs\n")
        try directory.write("1_Pooling/config.json", text: "{}")
        try directory.writeSafetensors("2_Dense/model.safetensors", [("linear.weight", [4])])
        try directory.write("pytorch_model.bin", text: "pickle")
        try directory.write(".git/HEAD", text: "ref: refs/heads/main\n")
        try directory.write("__metadata__.json", text: "{}")
        return directory
    }

    @Test("every file but the weights travels with them, subfolders and dotfiles included")
    func whichFiles() throws {
        let directory = try Self.modelDirectory()
        let model = try ModelLoader().loadMerged([directory.path])
        #expect(model.companions.map(\.relativePath) == [".gitattributes", "1_Pooling/config.json", "2_Dense/model.safetensors", "config.json"])
        #expect(model.warnings.count == 1 && model.warnings[0].contains("__metadata__.json") && model.warnings[0].contains("left out"))
        let all = try ModelLoader(options: LoadOptions(includesOtherWeights: true)).loadMerged([directory.path])
        #expect(all.companions.map(\.relativePath).contains("pytorch_model.bin"))
    }

    @Test("companion files read as their sources, in the model's tree and in every rank's")
    func contents() throws {
        let directory = try Self.modelDirectory()
        let model = try ModelLoader().loadMerged([directory.path])
        let plan = try TensorParallelPlan(models: [model], options: TensorParallelOptions(degrees: [2], uneven: .arraySplit))
        let fileSystem = try TensorFileSystem(models: [model], tensorParallel: plan)
        for prefix in ["", "tp-2/rank-1/"] {
            #expect(try fileSystem.contents(of: prefix + "config.json") == Array(#"{"model_type": "bert"}"#.utf8))
            #expect(try fileSystem.contents(of: prefix + "1_Pooling/config.json") == Array("{}".utf8))
            let inode = try #require(fileSystem.resolve(prefix + "1_Pooling/config.json"))
            #expect(fileSystem.attributes(of: inode)?.size == 2)
        }
    }

    @Test("a tensor whose file or view would take a companion's path gives way")
    func clashes() throws {
        let directory = try Self.modelDirectory()
        let fileSystem = try TensorFileSystem(models: [try ModelLoader().loadMerged([directory.path])])
        // The tensor `config` would have the sidecar config.json: its first byte is escaped.
        #expect(fileSystem.resolve("%63onfig") != nil && fileSystem.resolve("%63onfig.json") != nil)
        #expect(NameEscaping.name(fromComponents: ["%63onfig"]) == "config")
        #expect(LayoutTests.paths(["vocab.size"], companions: ["vocab"]) == ["%76ocab/size"])
        #expect(LayoutTests.paths(["a.b"], companions: ["a/b.json"]) == ["a/%62"])
        #expect(LayoutTests.paths(["a.b.c"], layout: .flat, companions: ["a.b.c"]) == ["a%2Eb%2Ec"])
        #expect(LayoutTests.paths(["pool.weight"], companions: ["pool/config.json"]) == ["pool/weight"])
    }
}

/// Which files show one local file whole, for the kernel to read itself.
@Suite("whole local files")
struct WholeLocalFileTests {
    @Test("a one-file model's model.safetensors and companion files are whole local files; tensors and merged models are not")
    func wholeFiles() throws {
        let directory = try CompanionFilesTests.modelDirectory()
        let fileSystem = try TensorFileSystem(models: [try ModelLoader().loadMerged([directory.path])])
        let modelFile = try #require(fileSystem.resolve("model.safetensors"))
        let model = try #require(fileSystem.wholeLocalFile(of: modelFile))
        #expect(model.size == fileSystem.attributes(of: modelFile)?.size)
        #expect(fileSystem.wholeLocalFile(of: try #require(fileSystem.resolve("config.json"))) != nil)
        #expect(fileSystem.wholeLocalFile(of: try #require(fileSystem.resolve("encoder/weight"))) == nil)
        #expect(fileSystem.wholeLocalFile(of: try #require(fileSystem.resolve("__metadata__.json"))) == nil)
        #expect(fileSystem.wholeLocalFile(of: .root) == nil)
        let sharded = try ShardedFixture()
        let merged = try TensorFileSystem(models: [try ModelLoader().loadMerged([sharded.model])])
        #expect(merged.wholeLocalFile(of: try #require(merged.resolve("model.safetensors"))) == nil)
    }
}
