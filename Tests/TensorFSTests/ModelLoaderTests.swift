import Foundation
import Testing
@testable import TensorFS

/// How SOURCE arguments become one logical model, and every inconsistency refused at mount.
@Suite("model loader")
struct ModelLoaderTests {
    private func names(_ model: LogicalModel) -> [String] {
        model.tensors.map(\.name)
    }

    @Test("a directory with an index is its sharded set, shards in the order the index names them")
    func directoryWithIndex() throws {
        let fixture = try ShardedFixture()
        try fixture.directory.writeSafetensors("model/consolidated.safetensors", [("other", [1])])
        let model = try ModelLoader().loadMerged([fixture.model])
        #expect(model.name == "model")
        #expect(model.shards.map(\.relativeName) == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        #expect(Set(names(model)) == Set(ShardedFixture.tensors.map(\.name)))
        #expect(model.indexes.map(\.file) == ["model.safetensors.index.json"])
        #expect(model.warnings.isEmpty)
        for tensor in ShardedFixture.tensors {
            #expect(try tensorBytes(tensor.name, of: model) == f32Bytes(tensor.values))
        }
    }

    @Test("the index file, the directory and the list of shards give the same tensors")
    func sourcesAgree() throws {
        let fixture = try ShardedFixture()
        let byDirectory = try ModelLoader().loadMerged([fixture.model])
        let byIndex = try ModelLoader().loadMerged([fixture.location("model.safetensors.index.json")])
        let shardFiles = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"]
        let byList = try ModelLoader().loadMerged(shardFiles.map(fixture.location))
        for model in [byIndex, byList] {
            #expect(names(model) == names(byDirectory))
            #expect(model.tensors.map(\.fileRange) == byDirectory.tensors.map(\.fileRange))
            #expect(model.shards.map(\.relativeName) == shardFiles)
        }
        #expect(byIndex.name == "model")
        #expect(byList.name == "model")
        #expect(byList.indexes.isEmpty)
    }

    @Test("a directory without an index is every .safetensors file in it, by name")
    func directoryWithoutIndex() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("b.safetensors", [("b", [2])])
        try directory.writeSafetensors("a.safetensors", [("a", [1])])
        try directory.write("notes.txt", text: "not a model")
        let model = try ModelLoader().loadMerged([directory.path])
        #expect(model.shards.map(\.relativeName) == ["a.safetensors", "b.safetensors"])
        #expect(names(model) == ["a", "b"])
    }

    @Test("a directory's only *.safetensors.index.json is used; several are refused")
    func otherIndexNames() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("unet-1.safetensors", [("a", [1])])
        try directory.writeSafetensors("unet-2.safetensors", [("b", [2])])
        try directory.writeIndex([("a", "unet-1.safetensors")], at: "diffusion_pytorch_model.safetensors.index.json")
        #expect(names(try ModelLoader().loadMerged([directory.path])) == ["a"])
        try directory.writeIndex([("b", "unet-2.safetensors")], at: "other.safetensors.index.json")
        let error = try #require(loadError([directory.path]))
        #expect(error.description.hasPrefix("\(directory.path): the directory holds several indexes"))
        #expect(error.description.contains("`diffusion_pytorch_model.safetensors.index.json`"))
    }

    @Test("several sources merge into one namespace named model")
    func severalSources() throws {
        let fixture = try ShardedFixture()
        try fixture.directory.writeSafetensors("extra.safetensors", [("adapter.weight", [1])])
        let model = try ModelLoader().loadMerged([fixture.model, fixture.directory.location("extra.safetensors")])
        #expect(model.name == "model")
        #expect(model.tensors.count == ShardedFixture.tensors.count + 1)
        #expect(model.shards.last?.relativeName == "extra.safetensors")
    }

    @Test("shard names that two sources share are qualified with the source's name")
    func collidingShardNames() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("first/model.safetensors", [("a", [1])])
        try directory.writeSafetensors("second/model.safetensors", [("b", [2])])
        let model = try ModelLoader().loadMerged([directory.location("first"), directory.location("second")])
        #expect(model.shards.map(\.relativeName) == ["first/model.safetensors", "second/model.safetensors"])
    }

    @Test("separate loading names each model after its file or folder, numbering repeats")
    func separately() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("one/model.safetensors", [("a", [1])])
        try directory.writeSafetensors("two/one.safetensors", [("a", [2])])
        let models = try ModelLoader().loadSeparately([directory.location("one"), directory.location("two/one.safetensors")])
        #expect(models.map(\.name) == ["one", "one-2"])
    }

    // MARK: Errors

    @Test("a shard the weight_map names that is missing is refused, naming the index and the shard")
    func missingShard() throws {
        let fixture = try ShardedFixture()
        try FileManager.default.removeItem(atPath: fixture.location("model-00002-of-00003.safetensors"))
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.hasPrefix(fixture.location("model.safetensors.index.json") + ": shard `model-00002-of-00003.safetensors` in the weight_map cannot be opened"))
        #expect(error.description.contains("No such file or directory"))
    }

    @Test("a shard that cannot be read as a file is refused", arguments: ["directory", "fifo"])
    func unreadableShard(kind: String) throws {
        let fixture = try ShardedFixture()
        let shard = fixture.location("model-00003-of-00003.safetensors")
        try FileManager.default.removeItem(atPath: shard)
        if kind == "directory" {
            try FileManager.default.createDirectory(atPath: shard, withIntermediateDirectories: false)
        } else {
            #expect(mkfifo(shard, 0o644) == 0)
        }
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.hasPrefix(fixture.location("model.safetensors.index.json") + ": shard `model-00003-of-00003.safetensors` in the weight_map cannot be opened"))
    }

    @Test("a shard that is not valid safetensors is refused, naming the shard")
    func corruptShard() throws {
        let fixture = try ShardedFixture()
        let shard = fixture.location("model-00002-of-00003.safetensors")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        try bytes.dropLast(4).write(to: URL(fileURLWithPath: shard))
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.hasPrefix(shard + ": "))
    }

    @Test("a tensor the index places in a shard that does not hold it is refused")
    func misplacedTensor() throws {
        var weightMap = ShardedFixture.tensors.map { (tensor: $0.name, file: $0.file) }
        weightMap[2].file = "model-00003-of-00003.safetensors"
        let fixture = try ShardedFixture(weightMap: weightMap)
        let error = try #require(loadError([fixture.model]))
        #expect(error.description == fixture.location("model.safetensors.index.json") + ": the weight_map places tensor `model.layers.1.attn.weight` in `model-00003-of-00003.safetensors`, but it is in `model-00002-of-00003.safetensors`")
    }

    @Test("a tensor the index lists that no shard holds is refused")
    func tensorHeldNowhere() throws {
        let weightMap = ShardedFixture.tensors.map { (tensor: $0.name, file: $0.file) } + [("model.ghost", "model-00001-of-00003.safetensors")]
        let fixture = try ShardedFixture(weightMap: weightMap)
        let error = try #require(loadError([fixture.model]))
        #expect(error.description == fixture.location("model.safetensors.index.json") + ": the weight_map places tensor `model.ghost` in `model-00001-of-00003.safetensors`, which does not hold it")
    }

    @Test("a tensor in two shards of one index is refused, naming both files")
    func duplicateWithinIndex() throws {
        let fixture = try ShardedFixture()
        let shard = fixture.location("model-00003-of-00003.safetensors")
        try fixture.directory.writeSafetensors("model/model-00003-of-00003.safetensors", [("model.layers.2.attn.weight", [9]), ("lm_head.weight", [0, 0, 0])])
        let error = try #require(loadError([fixture.model]))
        #expect(error == .duplicateTensor(name: "lm_head.weight", firstFile: fixture.location("model-00002-of-00003.safetensors"), secondFile: shard, acrossSources: false))
        #expect(error.description == "\(shard): tensor `lm_head.weight` is also in \(fixture.location("model-00002-of-00003.safetensors"))")
    }

    @Test("a tensor in two SOURCEs is refused and marked as a collision between sources")
    func duplicateAcrossSources() throws {
        let directory = try ModelDirectory()
        try directory.writeSafetensors("a.safetensors", [("weight", [1])])
        try directory.writeSafetensors("b.safetensors", [("weight", [2])])
        let error = try #require(loadError([directory.location("a.safetensors"), directory.location("b.safetensors")]))
        #expect(error == .duplicateTensor(name: "weight", firstFile: directory.location("a.safetensors"), secondFile: directory.location("b.safetensors"), acrossSources: true))
        #expect(try ModelLoader().loadSeparately([directory.location("a.safetensors"), directory.location("b.safetensors")]).count == 2)
    }

    @Test("a tensor in a sharded set and in another SOURCE is a collision between sources")
    func duplicateBetweenIndexAndFile() throws {
        let fixture = try ShardedFixture()
        try fixture.directory.writeSafetensors("extra.safetensors", [("lm_head.weight", [0])])
        let error = try #require(loadError([fixture.model, fixture.directory.location("extra.safetensors")]))
        #expect(error == .duplicateTensor(name: "lm_head.weight", firstFile: fixture.location("model-00002-of-00003.safetensors"), secondFile: fixture.directory.location("extra.safetensors"), acrossSources: true))
    }

    @Test("a tensor the index places in its shard but another SOURCE holds is refused, naming the holder")
    func placedTensorHeldByAnotherSource() throws {
        let fixture = try ShardedFixture(weightMap: ShardedFixture.tensors.map { ($0.name, $0.file) } + [("adapter.weight", "model-00001-of-00003.safetensors")])
        try fixture.directory.writeSafetensors("extra.safetensors", [("adapter.weight", [0])])
        let error = try #require(loadError([fixture.model, fixture.directory.location("extra.safetensors")]))
        #expect(error.description == fixture.location("model.safetensors.index.json") + ": the weight_map places tensor `adapter.weight` in `model-00001-of-00003.safetensors`, but it is in `extra.safetensors`")
    }

    @Test("weight_map paths that are absolute or climb out are refused", arguments: ["/etc/passwd", "../model.safetensors", "sub/../../x.safetensors"])
    func unsafePaths(path: String) throws {
        let fixture = try ShardedFixture(weightMap: [("model.embed.weight", path)])
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.hasPrefix(fixture.location("model.safetensors.index.json") + ": "))
        #expect(error.description.contains(path))
    }

    @Test("a shard that resolves outside the model's directory through a symlink is refused")
    func symlinkOutside() throws {
        let fixture = try ShardedFixture()
        try fixture.directory.writeSafetensors("elsewhere/model-00003-of-00003.safetensors", [("model.layers.2.attn.weight", [9])])
        try FileManager.default.removeItem(atPath: fixture.location("model-00003-of-00003.safetensors"))
        try fixture.directory.link("model/model-00003-of-00003.safetensors", to: "../elsewhere/model-00003-of-00003.safetensors")
        let error = try #require(loadError([fixture.model]))
        #expect(error.description == fixture.location("model.safetensors.index.json") + ": the weight_map names shard `model-00003-of-00003.safetensors`, which resolves to \(fixture.directory.location("elsewhere/model-00003-of-00003.safetensors")), outside the model's directory \(fixture.model)")
    }

    @Test("a shard in a subfolder that links outside the model's directory is refused")
    func linkedFolderOutside() throws {
        let fixture = try ShardedFixture(weightMap: [("model.embed.weight", "parts/model-00001-of-00003.safetensors")])
        try fixture.directory.writeSafetensors("elsewhere/model-00001-of-00003.safetensors", [("model.embed.weight", [1, 2, 3, 4])])
        try fixture.directory.link("model/parts", to: fixture.directory.location("elsewhere"))
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.contains("outside the model's directory \(fixture.model)"))
    }

    @Test("links that stay inside the model's directory are followed")
    func symlinkInside() throws {
        let fixture = try ShardedFixture()
        try FileManager.default.moveItem(atPath: fixture.location("model-00001-of-00003.safetensors"), toPath: fixture.location("blob"))
        try fixture.directory.link("model/model-00001-of-00003.safetensors", to: "blob")
        #expect(try ModelLoader().loadMerged([fixture.model]).tensors.count == ShardedFixture.tensors.count)
    }

    @Test("a Hugging Face cache snapshot, whose files link to the repository's blobs, loads")
    func hubCacheSnapshot() throws {
        let fixture = try ShardedFixture()
        let repository = fixture.directory.location("hub/models--org--name")
        let snapshot = "hub/models--org--name/snapshots/0123abcd"
        try FileManager.default.createDirectory(atPath: fixture.directory.location(snapshot), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repository + "/blobs", withIntermediateDirectories: true)
        let files = ShardedFixture.tensors.map(\.file) + ["model.safetensors.index.json"]
        for (number, file) in Set(files).sorted().enumerated() {
            try FileManager.default.moveItem(atPath: fixture.location(file), toPath: repository + "/blobs/\(number)")
            try fixture.directory.link(snapshot + "/" + file, to: "../../blobs/\(number)")
        }
        let model = try ModelLoader().loadMerged([fixture.directory.location(snapshot)])
        #expect(model.tensors.count == ShardedFixture.tensors.count)
        #expect(model.name == "org--name")
    }

    @Test("an index that is not valid JSON is refused", arguments: ["{\"weight_map\": {", "not json", ""])
    func invalidIndexJSON(text: String) throws {
        let fixture = try ShardedFixture()
        try fixture.directory.write("model/model.safetensors.index.json", text: text)
        let error = try #require(loadError([fixture.model]))
        #expect(error.description.hasPrefix(fixture.location("model.safetensors.index.json") + ": index is not valid JSON"))
    }

    @Test("an index without a weight_map, or with an empty one, is refused")
    func missingWeightMap() throws {
        let fixture = try ShardedFixture()
        try fixture.directory.write("model/model.safetensors.index.json", text: "{\"metadata\": {}}")
        #expect(loadError([fixture.model])?.description == fixture.location("model.safetensors.index.json") + ": index has no `weight_map`")
        try fixture.directory.write("model/model.safetensors.index.json", text: "{\"weight_map\": {}}")
        #expect(loadError([fixture.model])?.description == fixture.location("model.safetensors.index.json") + ": the weight_map lists no tensors")
    }

    @Test("a directory with nothing to mount, and a missing source, are refused")
    func unusableSources() throws {
        let directory = try ModelDirectory()
        #expect(loadError([directory.path])?.description == "\(directory.path): the directory holds no .safetensors files and no model.safetensors.index.json")
        #expect(loadError([directory.location("absent")])?.description == "\(directory.location("absent")): No such file or directory")
    }

    // MARK: Warnings

    @Test("tensors the weight_map leaves out are mounted with a warning")
    func unlistedTensors() throws {
        let fixture = try ShardedFixture(weightMap: ShardedFixture.tensors.dropLast().map { ($0.name, $0.file) })
        let model = try ModelLoader().loadMerged([fixture.model])
        #expect(model.tensors.count == ShardedFixture.tensors.count)
        #expect(model.warnings == [fixture.location("model.safetensors.index.json") + ": 1 tensor in the shards is missing from the weight_map (`lm_head.weight`); it is mounted anyway"])
        #expect(try tensorBytes("lm_head.weight", of: model) == f32Bytes([10, 11, 12]))
    }

    @Test("a total_size that disagrees with the shards is a warning")
    func totalSizeMismatch() throws {
        let fixture = try ShardedFixture(metadata: "{\"total_size\": 7, \"format\": \"pt\"}")
        let model = try ModelLoader().loadMerged([fixture.model])
        #expect(model.warnings == [fixture.location("model.safetensors.index.json") + ": metadata.total_size is 7 but the shards' tensors hold \(ShardedFixture.totalSize) bytes"])
        #expect(model.indexes.first?.metadataStrings.map(\.key) == ["format"])
    }
}
