import ByteSources
import SafetensorsFormat
@testable import TensorFS

/// A file held in memory and served as a `ByteSource`. With a `pieceSize`, `withMemory` hands
/// out its bytes in pieces that end at multiples of it, as a source backed by a cache of blocks
/// would, so that callers are tested against more than one piece per range.
final class InMemorySource: ByteSource {
    let displayName: String
    let size: UInt64
    let modificationTime: Timestamp
    private let pieceSize: UInt64?
    // Written once in init, read-only afterwards.
    private nonisolated(unsafe) let storage: UnsafeMutableRawBufferPointer

    init(_ bytes: [UInt8], name: String, modificationTime: Timestamp = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789), pieceSize: UInt64? = nil) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        displayName = name
        size = UInt64(bytes.count)
        self.modificationTime = modificationTime
        self.pieceSize = pieceSize
    }

    deinit { storage.deallocate() }

    /// The file's bytes.
    var bytes: [UInt8] { Array(storage[..<Int(size)]) }

    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        try checkBounds(range)
        return Array(storage[Int(range.start)..<Int(range.end)])
    }

    func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try checkBounds(range)
        var pieces: [UnsafeRawBufferPointer] = []
        var start = range.start
        repeat {
            let end = pieceSize.map { min(range.end, (start / $0 + 1) * $0) } ?? range.end
            pieces.append(UnsafeRawBufferPointer(rebasing: storage[Int(start)..<Int(end)]))
            start = end
        } while start < range.end
        return try pieces.withUnsafeBufferPointer { (buffer) throws(ByteSourceError) -> Result in try body(buffer) }
    }

    func maximumPieceCount(for range: ByteRange) -> Int {
        guard let pieceSize, !range.isEmpty else { return 1 }
        return Int((range.end - 1) / pieceSize - range.start / pieceSize + 1)
    }

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }
}

/// Files in memory under `memory:` locations, so that models load through the real
/// `ModelLoader` without touching the disk.
struct InMemoryFiles: SourceLocator {
    let files: [String: InMemorySource]

    func handles(_ location: String) -> Bool { location.hasPrefix("memory:") }

    var concurrentOpens: Int { 1 }

    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] {
        let prefix = location.hasSuffix("/") ? location : location + "/"
        return files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            .filter { !$0.split(separator: "/").dropLast().contains { skipping.contains(String($0)) } }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    func kind(of location: String) throws(ModelError) -> LocationKind {
        if files[location] != nil { return .file }
        let prefix = location.hasSuffix("/") ? location : location + "/"
        let entries = files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        guard !entries.isEmpty else { throw .unusableSource(location, reason: "no such file") }
        return .directory(entries: entries.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource {
        guard let file = files[location] else { throw .unusableSource(location, reason: "no such file") }
        return file
    }

    func canonical(_ location: String) -> String? { nil }

    func sibling(of base: String, relativePath: String) -> String {
        LocalPath.join(LocalPath.parent(base), relativePath)
    }
}

/// One tensor to write into a crafted file.
struct CraftedTensor {
    var name: String
    var dtype: DType
    var shape: [UInt64]
    /// The tensor's bytes; without them, the file's builder fills in a pattern.
    var data: [UInt8]?

    init(_ name: String, _ dtype: DType = .f32, _ shape: [UInt64] = [2], data: [UInt8]? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    var byteCount: Int {
        Int(shape.reduce(1, *)) * dtype.bitsPerElement / 8
    }
}

/// Builds safetensors files in memory: a header padded to 8 bytes, then each tensor's bytes in
/// the order given, filled with a pattern that differs from tensor to tensor.
enum CraftedModel {
    static func fileBytes(_ tensors: [CraftedTensor], metadata: [(String, String)]? = nil, seed: Int = 0) -> [UInt8] {
        var offset = 0
        let written = tensors.map { tensor in
            defer { offset += tensor.byteCount }
            let data = tensor.data ?? (offset..<offset + tensor.byteCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ 1) }
            return WrittenTensor(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, data: data)
        }
        return safetensorsFile(written, metadata: metadata)
    }

    /// Loads `shards` (file name, tensors) as one model, each file in memory under
    /// `memory:/model/`; with `pieceSize`, sources answer in pieces of that size.
    static func load(_ shards: [(String, [CraftedTensor])], pieceSize: UInt64? = nil) throws -> (LogicalModel, [String: InMemorySource]) {
        var files: [String: InMemorySource] = [:]
        for (number, (name, tensors)) in shards.enumerated() {
            let location = "memory:/model/\(name)"
            files[location] = InMemorySource(fileBytes(tensors, metadata: [("format", "pt")], seed: number), name: location, pieceSize: pieceSize)
        }
        let loader = ModelLoader(locators: [InMemoryFiles(files: files)])
        let model = try loader.loadMerged(shards.map { "memory:/model/\($0.0)" })
        return (model, files)
    }

    /// A filesystem over one file holding `tensors`.
    static func fileSystem(_ tensors: [CraftedTensor], options: FileSystemOptions = FileSystemOptions()) throws -> TensorFileSystem {
        try TensorFileSystem(models: [try load([("model.safetensors", tensors)]).0], options: options)
    }
}
