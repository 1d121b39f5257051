import ByteSources
import SafetensorsFormat
@testable import TensorFS

/// libFuzzer's entry point for the namespace: the input is a list of tensor names (separated by
/// byte 0xFF, which UTF-8 never uses). In both layouts every name must get exactly one tensor
/// file, every path component must be a valid file name, and the documented reverse rule must
/// give back the name from the path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNamespace(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: count)
    var seen = Set<Utf8Key>()
    var names: [String] = []
    for piece in input.split(separator: 0xFF, omittingEmptySubsequences: false) {
        // `__metadata__` is the header's reserved key: no tensor can have that name.
        guard let name = String(validating: piece, as: UTF8.self), !name.utf8.elementsEqual("__metadata__".utf8),
              seen.insert(Utf8Key(name)).inserted else { continue }
        names.append(name)
    }
    for layout in Layout.allCases {
        check(names: names, layout: layout)
    }
    return 0
}

/// A source holding only an empty header: the namespace needs names, not bytes.
private final class NoBytes: ByteSource {
    let displayName = "fuzz.safetensors"
    let size: UInt64 = 8
    let modificationTime = Timestamp.zero

    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] { [] }

    func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try body(UnsafeBufferPointer(start: nil, count: 0))
    }
}

private func check(names: [String], layout: Layout) {
    let shard = Shard(source: NoBytes(), relativeName: "fuzz.safetensors", metadata: nil, dataStart: 8, tensorCount: names.count)
    let tensors = names.map { name in
        ModelTensor(info: TensorInfo(name: name, dtype: .u8, shape: [0], dataOffsets: ByteRange(start: 0, end: 0)),
                    shard: 0, fileRange: ByteRange(start: 8, end: 8))
    }
    let model = LogicalModel(name: "fuzz", shards: [shard], tensors: tensors)
    // The default views refuse no model.
    let fileSystem = try! TensorFileSystem(models: [model], options: FileSystemOptions(layout: layout))
    let namespace = fileSystem.namespace
    var found = [Bool](repeating: false, count: names.count)
    var pending: [(InodeNumber, [String])] = [(.root, [])]
    while let (directory, path) = pending.popLast() {
        for inode in namespace.children(of: directory) {
            let nameBytes = namespace.name(of: inode)
            checkComponent(nameBytes)
            let component = String(decoding: nameBytes, as: UTF8.self)
            precondition(nameBytes.withUnsafeBytes { namespace.lookup($0, in: directory) } == inode, "lookup misses a listed child")
            guard let reference = namespace.reference(inode) else { preconditionFailure("listed child has no entry") }
            let node = namespace.node(reference)
            let payload = Int(node.payload)
            switch node.kind {
            case .directory:
                pending.append((inode, path + [component]))
            case .tensorFile:
                let suffix = Array(TensorViews.suffixes[Int(node.variant)])
                precondition(nameBytes.suffix(suffix.count).elementsEqual(suffix), "a view without its suffix")
                if suffix.isEmpty {
                    precondition(!found[payload], "a tensor appears twice")
                    found[payload] = true
                }
                let tensorFile = String(decoding: nameBytes.dropLast(suffix.count), as: UTF8.self)
                let recovered = NameEscaping.name(fromComponents: path + [tensorFile])
                precondition(recovered.map { Utf8Key($0) } == Utf8Key(names[payload]), "a path does not give back the name")
            case .modelFile:
                precondition(path.isEmpty, "generated model file below the root")
            default:
                preconditionFailure("a \(node.kind) node, though neither companions nor tensor-parallel views were asked for")
            }
        }
    }
    precondition(!found.contains(false), "a tensor is unreachable")
}

/// A directory entry name the kernel accepts.
private func checkComponent(_ bytes: [UInt8]) {
    precondition(!bytes.isEmpty && bytes.count <= 255, "component length \(bytes.count)")
    precondition(!bytes.contains(0) && !bytes.contains(UInt8(ascii: "/")), "NUL or slash in a component")
    precondition(bytes != Array(".".utf8) && bytes != Array("..".utf8), "dot component")
}
