import Testing
@testable import TensorFS

/// The immutable tree of names and inode numbers.
@Suite("namespace")
struct NamespaceTests {
    static let sampleNames = [
        "embeddings.word_embeddings.weight", "embeddings.LayerNorm.bias", "embeddings.LayerNorm.weight",
        "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.query.bias",
        "encoder.layer.1.output.dense.weight", "pooler.dense.weight",
    ]

    static func fileSystem(_ names: [String], options: FileSystemOptions = FileSystemOptions()) throws -> TensorFileSystem {
        try CraftedModel.fileSystem(names.map { CraftedTensor($0) }, options: options)
    }

    /// Every path below the root, with its inode, found by walking the children lists.
    static func walk(_ namespace: Namespace) -> [(path: [String], inode: InodeNumber)] {
        var found: [(path: [String], inode: InodeNumber)] = []
        func visit(_ directory: InodeNumber, _ path: [String]) {
            for child in namespace.children(of: directory) {
                let inode = child
                let childPath = path + [String(decoding: namespace.name(of: inode), as: UTF8.self)]
                found.append((childPath, inode))
                visit(inode, childPath)
            }
        }
        visit(.root, [])
        return found
    }

    @Test("the root is inode 1 and its own parent")
    func root() throws {
        let namespace = try Self.fileSystem(Self.sampleNames).namespace
        #expect(namespace.entry(.root)?.kind == "directory")
        #expect(namespace.parent(of: .root) == .root)
        #expect(namespace.entry(InodeNumber(0)) == nil)
        #expect(namespace.resolve("encoder/layer/0/attention/self/query/weight") != nil)
        #expect(namespace.entry(InodeNumber(namespace.count + 1)) == nil)
    }

    @Test("a mount makes only what each model's root holds; the rest, when first needed, keeps every number")
    func treesCompleteWhenFirstNeeded() throws {
        let byLookup = try Self.fileSystem(Self.sampleNames).namespace
        let byListing = try Self.fileSystem(Self.sampleNames).namespace
        #expect(!byLookup.isComplete)
        #expect(byLookup.lookup("model.safetensors", in: .root) != nil && byLookup.lookup("encoder", in: .root) != nil)
        #expect(!byLookup.isComplete)
        let deep = try #require(byLookup.resolve("encoder/layer/1/output/dense/weight.npy"))
        #expect(byLookup.isComplete)
        #expect(Self.walk(byListing).count > 0 && byListing.isComplete)
        #expect(byListing.resolve("encoder/layer/1/output/dense/weight.npy") == deep)
        #expect(Self.walk(byLookup).map(\.inode) == Self.walk(byListing).map(\.inode))
    }

    @Test("the root holds the generated files and the top-level directories, sorted by bytes")
    func rootListing() throws {
        let namespace = try Self.fileSystem(Self.sampleNames).namespace
        let names = namespace.children(of: .root).map { String(decoding: namespace.name(of: $0), as: UTF8.self) }
        #expect(names == ["__metadata__.json", "embeddings", "encoder", "model.safetensors", "pooler"])
    }

    @Test("each tensor has its file, sidecar and NumPy view, side by side")
    func views() throws {
        let fileSystem = try Self.fileSystem(Self.sampleNames)
        let namespace = fileSystem.namespace
        let directory = try #require(namespace.resolve("encoder/layer/0/attention/self/query"))
        let names = namespace.children(of: directory).map { String(decoding: namespace.name(of: $0), as: UTF8.self) }
        #expect(names == ["bias", "bias.json", "bias.npy", "weight", "weight.json", "weight.npy"])
        let weight = try #require(namespace.resolve("encoder/layer/0/attention/self/query/weight"))
        let (kind, payload) = try #require(namespace.entry(weight))
        #expect(kind == "raw")
        #expect(fileSystem.tensorFiles.presented(payload, mirror: nil).tensor.name == "encoder.layer.0.attention.self.query.weight")
        #expect(namespace.resolve("encoder/layer/0/attention/self/query/weight.json").flatMap(namespace.entry)?.kind == "json")
        #expect(namespace.resolve("encoder/layer/0/attention/self/query/weight.npy").flatMap(namespace.entry)?.kind == "npy")
    }

    @Test("the view option trims the files beside each tensor")
    func viewOption() throws {
        let namespace = try Self.fileSystem(["a.b"], options: FileSystemOptions(views: try ViewSelection(parsing: "raw,json"))).namespace
        let directory = try #require(namespace.resolve("a"))
        #expect(namespace.children(of: directory).map { String(decoding: namespace.name(of: $0), as: UTF8.self) } == ["b", "b.json"])
    }

    @Test("lookup finds exactly the names listed, and nothing else")
    func lookup() throws {
        let namespace = try Self.fileSystem(Self.sampleNames).namespace
        for (path, inode) in Self.walk(namespace) {
            #expect(namespace.resolve(path.joined(separator: "/")) == inode)
            let parent = try #require(namespace.parent(of: inode))
            #expect(namespace.lookup(path.last!, in: parent) == inode)
        }
        let directory = try #require(namespace.resolve("embeddings/LayerNorm"))
        for missing in ["", "bia", "biass", "bias.jso", "bias.json.npy", "Bias", "bias.npy ", ".", ".."] {
            #expect(namespace.lookup(missing, in: directory) == nil, "\(missing)")
        }
        let file = try #require(namespace.resolve("embeddings/LayerNorm/bias"))
        #expect(namespace.lookup("x", in: file) == nil)
        #expect(namespace.children(of: file).isEmpty)
    }

    @Test("every node is listed exactly once, below its parent")
    func everyNodeListedOnce() throws {
        let namespace = try Self.fileSystem(LayoutTests.hostileNames).namespace
        let walked = Self.walk(namespace)
        #expect(walked.count == namespace.count - 1)
        #expect(Set(walked.map(\.inode)).count == walked.count)
    }

    @Test("a directory's link count is 2 plus its subdirectories")
    func subdirectoryCounts() throws {
        let fileSystem = try Self.fileSystem(Self.sampleNames)
        let namespace = fileSystem.namespace
        #expect(namespace.subdirectoryCount(of: .root) == 3)
        #expect(fileSystem.attributes(of: .root)?.linkCount == 5)
        let layer = try #require(namespace.resolve("encoder/layer"))
        #expect(namespace.subdirectoryCount(of: layer) == 2)
    }

    @Test("hostile names all get distinct, valid, reachable files", arguments: [Layout.tree, .flat])
    func hostileNames(layout: Layout) throws {
        let fileSystem = try Self.fileSystem(LayoutTests.hostileNames, options: FileSystemOptions(layout: layout))
        let namespace = fileSystem.namespace
        var tensorsFound: [Int: [String]] = [:]
        for (path, inode) in Self.walk(namespace) {
            for component in path {
                #expect(!["", ".", ".."].contains(component))
                #expect(!component.utf8.contains(0) && !component.utf8.contains(UInt8(ascii: "/")))
                #expect(component.utf8.count <= 255)
            }
            if let (kind, payload) = namespace.entry(inode), kind == "raw" {
                tensorsFound[payload] = path
            }
        }
        #expect(tensorsFound.count == LayoutTests.hostileNames.count)
        for (number, path) in tensorsFound {
            let name = fileSystem.tensorFiles.presented(number, mirror: nil).tensor.name
            #expect(NameEscaping.name(fromComponents: path).map { Array($0.utf8) } == Array(name.utf8), "\(path)")
        }
    }

    @Test("names that differ only by Unicode normalization are two files")
    func normalization() throws {
        let namespace = try Self.fileSystem(["e\u{301}", "\u{e9}"]).namespace
        #expect(namespace.lookup("e\u{301}", in: .root) != nil)
        #expect(namespace.lookup("\u{e9}", in: .root) != nil)
        #expect(namespace.lookup("e\u{301}", in: .root) != namespace.lookup("\u{e9}", in: .root))
    }

    @Test("inode numbers are the same every time the same model is mounted")
    func stableInodes() throws {
        let first = Self.walk(try Self.fileSystem(LayoutTests.hostileNames).namespace)
        let second = Self.walk(try Self.fileSystem(LayoutTests.hostileNames).namespace)
        #expect(first.map(\.path) == second.map(\.path))
        #expect(first.map(\.inode) == second.map(\.inode))
    }

    @Test("separate models each get a directory named after them")
    func modelDirectories() throws {
        let (first, _) = try CraftedModel.load([("one.safetensors", [CraftedTensor("a.b")])])
        let (second, _) = try CraftedModel.load([("two.safetensors", [CraftedTensor("a.b")])])
        let fileSystem = try TensorFileSystem(models: [first, second], options: FileSystemOptions(modelDirectories: true))
        let namespace = fileSystem.namespace
        #expect(namespace.resolve("one/a/b").flatMap(namespace.entry)?.payload == 0)
        #expect(namespace.resolve("two/a/b").flatMap(namespace.entry)?.payload == 1)
        #expect(namespace.resolve("two/model.safetensors").flatMap(namespace.entry)?.kind == "safetensors")
        #expect(namespace.resolve("one/__metadata__.json").flatMap(namespace.entry)?.kind == "metadata")
    }
}
