import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// What the filesystem reports for each file, and the bytes it serves, without FUSE.
@Suite("filesystem")
struct TensorFileSystemTests {
    static let tensors = [
        CraftedTensor("embeddings.position_ids", .i64, [1, 8]),
        CraftedTensor("encoder.0.weight", .f32, [3, 4]),
        CraftedTensor("encoder.0.bias", .bf16, [4]),
        CraftedTensor("encoder.0.scale", .f8E4M3, []),
        CraftedTensor("encoder.0.empty", .f16, [0, 3]),
        CraftedTensor("packed", .f4, [2, 6]),
    ]

    static func loaded() throws -> (TensorFileSystem, InMemorySource) {
        let (model, files) = try CraftedModel.load([("model.safetensors", tensors)])
        return (try TensorFileSystem(models: [model]), files.values.first!)
    }

    /// The whole contents of `path`, read in one go through `open` and `withContents`.
    static func contents(_ fileSystem: TensorFileSystem, _ path: String, offset: UInt64 = 0, count: Int = 1 << 20) throws -> [UInt8] {
        let inode = try #require(fileSystem.namespace.resolve(path))
        let opened = fileSystem.open(inode)
        return try fileSystem.withContents(of: inode, opened: opened, offset: offset, count: count) { pieces in
            pieces.flatMap { Array($0) }
        }
    }

    @Test("a tensor file holds exactly the tensor's bytes, at any offset and length")
    func tensorBytes() throws {
        let (fileSystem, source) = try Self.loaded()
        for tensor in fileSystem.models[0].tensors {
            let path = tensor.name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/")
            let expected = Array(source.bytes[Int(tensor.fileRange.start)..<Int(tensor.fileRange.end)])
            #expect(try Self.contents(fileSystem, path) == expected, "\(path)")
            #expect(fileSystem.attributes(of: fileSystem.namespace.resolve(path)!)?.size == UInt64(expected.count))
            for offset in 0...expected.count + 1 {
                for count in [0, 1, 3, 4096] {
                    let want = offset < expected.count ? Array(expected[offset..<min(expected.count, offset + count)]) : []
                    #expect(try Self.contents(fileSystem, path, offset: UInt64(offset), count: count) == want)
                }
            }
        }
    }

    @Test("model.safetensors at the root is the single source file, byte for byte")
    func singleSourceModel() throws {
        let (fileSystem, source) = try Self.loaded()
        #expect(try Self.contents(fileSystem, "model.safetensors") == source.bytes)
        #expect(fileSystem.attributes(of: fileSystem.namespace.resolve("model.safetensors")!)?.size == source.size)
        #expect(fileSystem.open(fileSystem.namespace.resolve("model.safetensors")!)?.generated == nil)
    }

    @Test("a sidecar names the tensor, its dtype, shape, size and where its bytes lie")
    func sidecar() throws {
        let (fileSystem, _) = try Self.loaded()
        for tensor in fileSystem.models[0].tensors {
            let path = tensor.name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/") + ".json"
            let bytes = try Self.contents(fileSystem, path)
            #expect(fileSystem.attributes(of: fileSystem.namespace.resolve(path)!)?.size == UInt64(bytes.count))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            #expect(Set(object.keys) == ["name", "dtype", "shape", "nbytes", "file", "data_offsets", "file_offset"])
            #expect(object["name"] as? String == tensor.name)
            #expect(object["dtype"] as? String == tensor.info.dtype.name)
            #expect((object["shape"] as? [Int])?.map(UInt64.init) == tensor.info.shape)
            #expect((object["nbytes"] as? Int).map(UInt64.init) == tensor.info.byteCount)
            #expect(object["file"] as? String == "model.safetensors")
            #expect((object["data_offsets"] as? [Int])?.map(UInt64.init) == [tensor.info.dataOffsets.start, tensor.info.dataOffsets.end])
            #expect((object["file_offset"] as? Int).map(UInt64.init) == tensor.fileRange.start)
        }
    }

    @Test("a sidecar's name is exact for hostile names")
    func sidecarEscapesNames() throws {
        let names = ["a\u{0}b", "q\"uote\\", "tab\there", "e\u{301}", "line\u{2028}sep", "\u{7f}"]
        let fileSystem = try CraftedModel.fileSystem(names.map { CraftedTensor($0) }, options: FileSystemOptions(layout: .flat))
        for name in names {
            let path = String(decoding: NameEscaping.escape(Array(name.utf8)), as: UTF8.self) + ".json"
            let object = try #require(try JSONSerialization.jsonObject(with: Data(Self.contents(fileSystem, path))) as? [String: Any])
            #expect((object["name"] as? String).map { Array($0.utf8) } == Array(name.utf8))
        }
    }

    @Test("files are 0444 and directories 0555, with times from the source")
    func modesAndTimes() throws {
        let (fileSystem, source) = try Self.loaded()
        for inode in (1...fileSystem.inodeCount).map({ InodeNumber($0) }) {
            let attributes = try #require(fileSystem.attributes(of: inode))
            #expect(attributes.inode == inode)
            #expect(attributes.permissions == (attributes.isDirectory ? 0o555 : 0o444))
            #expect(attributes.linkCount == (attributes.isDirectory ? UInt32(2 + fileSystem.namespace.subdirectoryCount(of: inode)) : 1))
            #expect(attributes.modificationTime == source.modificationTime)
        }
        #expect(fileSystem.attributes(of: InodeNumber(UInt64(fileSystem.namespace.count) + 1)) == nil)
    }

    @Test("a file's size is the number of bytes it reads as")
    func sizesAreTruthful() throws {
        let (fileSystem, _) = try Self.loaded()
        for inode in (1...fileSystem.inodeCount).map({ InodeNumber($0) }) {
            let attributes = try #require(fileSystem.attributes(of: inode))
            guard !attributes.isDirectory else { continue }
            let opened = fileSystem.open(inode)
            let count = try fileSystem.withContents(of: inode, opened: opened, offset: 0, count: .max) { pieces in
                pieces.reduce(0) { $0 + $1.count }
            }
            #expect(UInt64(count) == attributes.size)
        }
    }

    @Test("tensor files carry user.tensorfs attributes; other nodes none")
    func extendedAttributes() throws {
        let (fileSystem, _) = try Self.loaded()
        let inode = try #require(fileSystem.namespace.resolve("encoder/0/weight"))
        let attributes = Dictionary(uniqueKeysWithValues: fileSystem.extendedAttributes(of: inode).map { ($0.name, String(decoding: $0.value, as: UTF8.self)) })
        let tensor = fileSystem.models[0].tensors[1]
        #expect(attributes == [
            "user.tensorfs.name": "encoder.0.weight", "user.tensorfs.dtype": "F32", "user.tensorfs.shape": "[3,4]",
            "user.tensorfs.file": "model.safetensors", "user.tensorfs.offset": String(tensor.fileRange.start),
        ])
        #expect(fileSystem.extendedAttributes(of: .root).isEmpty)
        #expect(fileSystem.extendedAttributes(of: fileSystem.namespace.resolve("__metadata__.json")!).isEmpty)
    }

    @Test("only generated files hold bytes from open, and directories do not open")
    func openHandles() throws {
        let (fileSystem, _) = try Self.loaded()
        #expect(fileSystem.open(.root) == nil)
        #expect(fileSystem.open(fileSystem.namespace.resolve("encoder/0/weight")!)?.generated == nil)
        #expect(fileSystem.open(fileSystem.namespace.resolve("encoder/0/weight.json")!)?.generated != nil)
        #expect(fileSystem.open(fileSystem.namespace.resolve("encoder/0/weight.npy")!)?.generated != nil)
        #expect(fileSystem.open(fileSystem.namespace.resolve("__metadata__.json")!)?.generated != nil)
    }

    @Test("every opening of a file shares one copy of its generated bytes, freed at the last release")
    func openingsShareGeneratedBytes() throws {
        let (fileSystem, _) = try Self.loaded()
        let sidecar = try #require(fileSystem.namespace.resolve("encoder/0/weight.json"))
        let openings = (0..<100).compactMap { _ in fileSystem.open(sidecar) }
        let first = try #require(openings.first?.generated)
        #expect(openings.allSatisfy { $0.generated === first })
        #expect(fileSystem.openFileCount == 1)
        openings.dropLast().forEach(fileSystem.release)
        #expect(fileSystem.openFileCount == 1)
        fileSystem.release(openings.last!)
        #expect(fileSystem.openFileCount == 0)
        #expect(try #require(fileSystem.open(sidecar)?.generated) !== first)
    }
}

/// Generated files of tensors with very long shapes.
@Suite("filesystem: long shapes")
struct LongShapeTests {
    @Test("sidecars and .npy files of a tensor with thousands of dimensions report their true size, stat after stat")
    func longShapeSizes() throws {
        let rank = GeneratedSizeCache.rankWorthKeeping * 8
        let (model, _) = try CraftedModel.load([("long.safetensors", [CraftedTensor("deep", .u8, Array(repeating: 1, count: rank))])])
        let fileSystem = try TensorFileSystem(models: [model])
        for path in ["deep.json", "deep.npy"] {
            let inode = try #require(fileSystem.namespace.resolve(path))
            let contents = try TensorFileSystemTests.contents(fileSystem, path, count: 1 << 24)
            for _ in 0..<3 {
                #expect(fileSystem.attributes(of: inode)?.size == UInt64(contents.count))
            }
        }
    }
}
