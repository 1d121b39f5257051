import SafetensorsFormat
import Testing
@testable import TensorFS

/// The `tp-N/rank-R/` trees as the filesystem serves them.
@Suite("tensor-parallel views")
struct TensorParallelFileSystemTests {
    static let llama: [CraftedTensor] = [
        CraftedTensor("model.embed_tokens.weight", .bf16, [96, 64]),
        CraftedTensor("model.layers.0.input_layernorm.weight", .f32, [64]),
        CraftedTensor("model.layers.0.self_attn.q_proj.weight", .bf16, [64, 64]),
        CraftedTensor("model.layers.0.self_attn.q_proj.bias", .bf16, [64]),
        CraftedTensor("model.layers.0.self_attn.o_proj.weight", .bf16, [64, 64]),
        CraftedTensor("model.layers.0.mlp.down_proj.weight", .f32, [64, 3000]),
        CraftedTensor("lm_head.weight", .bf16, [96, 64]),
    ]

    private func fileSystem(_ model: TestModel, _ options: TensorParallelOptions, layout: Layout = .tree) throws -> TensorFileSystem {
        let plan = try TensorParallelPlan(models: [model.model], options: options)
        return try TensorFileSystem(models: [model.model], options: FileSystemOptions(layout: layout), tensorParallel: plan)
    }

    @Test("each rank directory is a whole tree of the rank's slices, beside the model's own")
    func tree() throws {
        let model = try TestModel(Self.llama)
        let fs = try fileSystem(model, TensorParallelOptions(degrees: [4, 2, 4]))
        let root = fs.namespace.children(of: .root).map { String(decoding: fs.namespace.name(of: $0), as: UTF8.self) }
        #expect(root == ["__metadata__.json", "lm_head", "model", "model.safetensors", "tp-2", "tp-4"])
        for path in ["tp-2/rank-1/model/layers/0/self_attn/o_proj/weight.npy", "tp-4/rank-3/__metadata__.json",
                     "tp-4/rank-0/model.safetensors", "tp-4/rank-2/lm_head/weight.json"] {
            #expect(fs.namespace.resolve(path) != nil, "\(path)")
        }
        #expect(fs.namespace.resolve("tp-4/rank-4") == nil)
        #expect(fs.namespace.resolve("tp-3") == nil)
    }

    @Test("with one directory per model, each model has its own rank trees, with the chosen views only")
    func separateModels() throws {
        let first = try TestModel(Self.llama)
        let second = try TestModel([CraftedTensor("model.layers.0.mlp.up_proj.weight", .f16, [8, 4])])
        let models = [first.model, second.model].enumerated().map { number, model in
            LogicalModel(name: "m\(number)", shards: model.shards, tensors: model.tensors)
        }
        let plan = try TensorParallelPlan(models: models, options: TensorParallelOptions(degrees: [2]))
        let fs = try TensorFileSystem(models: models, options: FileSystemOptions(views: try ViewSelection(parsing: "npy"), modelDirectories: true), tensorParallel: plan)
        #expect(fs.namespace.resolve("m0/tp-2/rank-1/lm_head/weight.npy") != nil)
        #expect(fs.namespace.resolve("m0/tp-2/rank-1/lm_head/weight") == nil)
        #expect(fs.namespace.resolve("m1/tp-2/rank-0/model/layers/0/mlp/up_proj/weight.npy") != nil)
        #expect(fs.namespace.resolve("m1/tp-2/rank-0/model.safetensors") != nil)
        #expect(fs.namespace.resolve("tp-2") == nil)
        let npy = try fs.contents(of: "m1/tp-2/rank-1/model/layers/0/mlp/up_proj/weight.npy")
        #expect(Array(npy.suffix(32)) == Array(second.bytes["model.layers.0.mlp.up_proj.weight"]!.suffix(32)))
    }

    @Test("slices concatenated along their dimension are the tensor; rank files hold the slices in order")
    func slicesRebuildTheModel() throws {
        let model = try TestModel(Self.llama)
        let fs = try fileSystem(model, TensorParallelOptions(degrees: [4], cacheBudget: 1 << 20), layout: .flat)
        let expectedDimension: [String: Int?] = [
            "model.embed_tokens.weight": 0, "model.layers.0.input_layernorm.weight": nil,
            "model.layers.0.self_attn.q_proj.weight": 0, "model.layers.0.self_attn.q_proj.bias": 0,
            "model.layers.0.self_attn.o_proj.weight": 1, "model.layers.0.mlp.down_proj.weight": 1, "lm_head.weight": 0,
        ]
        for rank in 0..<4 {
            let file = try fs.contents(of: "tp-4/rank-\(rank)/model.safetensors", chunk: 4000)
            let header = try file.withUnsafeBytes { try SafetensorsHeader(fileBytes: $0, file: "rank model") }
            #expect(header.metadata?.map(\.key) == ["format"])
            #expect(header.tensors.map(\.name) == model.model.tensors.map(\.name))
            for (tensor, listed) in zip(Self.llama, header.tensors) {
                let bytes = model.bytes[tensor.name]!
                let slice: [UInt8]
                if let dimension = expectedDimension[tensor.name]! {
                    let length = tensor.shape[dimension] / 4
                    slice = referenceSlice(of: bytes, bits: tensor.dtype.bitsPerElement, shape: tensor.shape,
                                           dimension: dimension, start: UInt64(rank) * length, length: length)
                    var shape = tensor.shape
                    shape[dimension] = length
                    #expect(listed.shape == shape, "\(tensor.name)")
                } else {
                    slice = bytes
                    #expect(listed.shape == tensor.shape)
                }
                let range = header.fileRange(of: listed)
                #expect(Array(file[Int(range.start)..<Int(range.end)]) == slice, "rank \(rank) \(tensor.name) in model.safetensors")
                #expect(try fs.contents(of: "tp-4/rank-\(rank)/\(tensor.name)", chunk: 3333) == slice, "rank \(rank) \(tensor.name)")
            }
        }
    }

    @Test("a slice's sidecar and attributes give the global shape, the dimension, the start and the length")
    func sidecar() throws {
        let model = try TestModel(Self.llama)
        let fs = try fileSystem(model, TensorParallelOptions(degrees: [2]))
        let text = String(decoding: try fs.contents(of: "tp-2/rank-1/model/layers/0/self_attn/o_proj/weight.json"), as: UTF8.self)
        for member in [#""shape": [64, 32]"#, #""nbytes": 4096"#, #""size": 2"#, #""rank": 1"#, #""global_shape": [64, 64]"#,
                       #""dim": 1"#, #""start": 32"#, #""length": 32"#, #""gathered": true"#] {
            #expect(text.contains(member), "\(member) in \(text)")
        }
        let norm = String(decoding: try fs.contents(of: "tp-2/rank-0/model/layers/0/input_layernorm/weight.json"), as: UTF8.self)
        #expect(norm.contains(#""dim": null"#))
        let inode = fs.namespace.resolve("tp-2/rank-1/model/layers/0/self_attn/o_proj/weight")!
        let attributes = Dictionary(uniqueKeysWithValues: fs.extendedAttributes(of: inode).map { ($0.name, String(decoding: $0.value, as: UTF8.self)) })
        #expect(attributes["user.tensorfs.shape"] == "[64,32]")
        #expect(attributes["user.tensorfs.global_shape"] == "[64,64]")
        #expect(attributes["user.tensorfs.slice_dim"] == "1")
        #expect(attributes["user.tensorfs.slice_start"] == "32")
    }

    @Test("a tensor whose path starts like a tp directory is escaped and stays apart from it")
    func collision() throws {
        let model = try TestModel([
            CraftedTensor("tp-2.weight", .f32, [4, 4]),
            CraftedTensor("tp-4", .f32, [2]),
            CraftedTensor("tp-x.weight", .f32, [2]),
        ])
        let fs = try fileSystem(model, TensorParallelOptions(degrees: [2, 4]))
        #expect(fs.namespace.resolve("tp%2D2/weight") != nil)
        #expect(fs.namespace.resolve("tp%2D4") != nil)
        #expect(fs.namespace.resolve("tp-x/weight") != nil)
        #expect(fs.namespace.resolve("tp-2/rank-0/tp%2D2/weight") != nil)
        #expect(fs.namespace.resolve("tp-2/weight") == nil)
        #expect(fs.namespace.children(of: fs.namespace.resolve("tp-4")!).count == 4)
        #expect(NameEscaping.name(fromComponents: ["tp%2D2", "weight"]) == "tp-2.weight")
        let flat = try TensorFileSystem(models: [model.model], options: FileSystemOptions(layout: .flat))
        #expect(flat.namespace.resolve("tp-2.weight") != nil)
        #expect(flat.namespace.resolve("tp%2D4") != nil)
    }

    @Test("a cut that the rules ask for but the tensor cannot take fails with the file and tensor named")
    func refusals() throws {
        let model = try TestModel([
            CraftedTensor("model.embed_tokens.weight", .f32, [10, 4]),
            CraftedTensor("packed", .f4, [4, 6]),
            CraftedTensor("vector", .f32, [8]),
        ])
        let cases: [(TensorParallelOptions, String)] = [
            (TensorParallelOptions(degrees: [4]), "model.safetensors: tensor `model.embed_tokens.weight` (F32 [10, 4]), matched by rule `*.embed_tokens.weight 0` (default rules:18), cannot be cut into 4 equal parts along dimension 0 of size 10"),
            (TensorParallelOptions(degrees: [2], rules: SliceRules([try SliceRule(parsing: "packed 1", origin: "--tp-rule")])), "tensor `packed` (F4 [4, 6]), matched by rule `packed 1` (--tp-rule), cannot be cut into 2 parts along dimension 1: a cut would fall inside a byte (3 indices of 4 bits are not whole bytes)"),
            (TensorParallelOptions(degrees: [2], rules: SliceRules([try SliceRule(parsing: "vector 1", origin: "--tp-rule")])), "tensor `vector` (F32 [8]), matched by rule `vector 1` (--tp-rule), has no dimension 1: it has 1"),
            (TensorParallelOptions(degrees: [0]), "--tp 0: the number of ranks must be between 1 and 4096"),
        ]
        for (options, message) in cases {
            do {
                _ = try TensorParallelPlan(models: [model.model], options: options)
                Issue.record("accepted \(message)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
        var uneven = TensorParallelOptions(degrees: [4])
        uneven.uneven = .arraySplit
        let fs = try fileSystem(model, uneven)
        #expect(try fs.contents(of: "tp-4/rank-1/model/embed_tokens/weight").count == 3 * 4 * 4)
        #expect(try fs.contents(of: "tp-4/rank-3/model/embed_tokens/weight").count == 2 * 4 * 4)
    }
}
