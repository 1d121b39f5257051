/// How tensor names become paths below a model's root.
public enum Layout: String, Sendable, CaseIterable {
    /// Names split at `.` into directories: `a.b.weight` is `a/b/weight`.
    case tree
    /// One file per tensor at the root, named by the whole name.
    case flat
}

/// The files shown beside each tensor.
public struct ViewSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `T`: the tensor's raw bytes.
    public static let raw = ViewSet(rawValue: 1 << 0)
    /// `T.json`: the sidecar describing the tensor.
    public static let json = ViewSet(rawValue: 1 << 1)
    /// `T.npy`: the tensor as a NumPy file.
    public static let npy = ViewSet(rawValue: 1 << 2)
    /// Every view, the default.
    public static let all: ViewSet = [.raw, .json, .npy]
}

/// Where one tensor's file goes: escaped, cut-to-fit path components below the model's root.
struct TensorPath {
    var directories: [[UInt8]]
    var file: [UInt8]
}

/// Computes tensor paths for one model under a layout, applying `NameEscaping`.
struct TensorPathPlanner {
    /// Suffixes of generated files beside a tensor file; a tensor named like another tensor
    /// plus one of these has its dots escaped so that the two never clash.
    static let viewSuffixes = [".json", ".npy"]
    /// Files generated at a model's root.
    static let reservedRootNames = ["__metadata__.json", "model.safetensors"]

    private let layout: Layout
    private let names: NameSet

    init(names: [String], layout: Layout) {
        self.layout = layout
        self.names = NameSet(names)
    }

    func path(of name: String) -> TensorPath {
        let bytes = Array(name.utf8)
        let (directories, file) = split(bytes)
        let escapeDots = clashesWithGeneratedFile(name: bytes, directories: directories, file: file)
        var components: [[UInt8]] = []
        for directory in directories {
            components += NameEscaping.pieces(of: NameEscaping.escape(directory))
        }
        var filePieces = NameEscaping.pieces(of: NameEscaping.escape(file, escapingDots: escapeDots))
        let last = filePieces.removeLast()
        var path = TensorPath(directories: components + filePieces, file: last)
        if path.directories.isEmpty {
            TensorParallelNames.escapeDegreeDirectoryName(&path.file)
        } else {
            TensorParallelNames.escapeDegreeDirectoryName(&path.directories[0])
        }
        return path
    }

    /// Raw directory segments and the raw file component of a name.
    private func split(_ name: [UInt8]) -> (ArraySlice<ArraySlice<UInt8>>, ArraySlice<UInt8>) {
        guard layout == .tree else { return ([], name[...]) }
        let segments = name.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        // Where a shorter name is itself a tensor, that tensor's file stands in the way of a
        // directory: the rest of the name stays joined, beside it.
        var prefixEnd = 0
        for (position, segment) in segments.dropLast().enumerated() {
            prefixEnd = segment.endIndex
            if names.contains(name[..<prefixEnd]) {
                return (segments[..<position], name[segment.startIndex...])
            }
        }
        return (segments.dropLast(), segments.last!)
    }

    private func clashesWithGeneratedFile(name: [UInt8], directories: ArraySlice<ArraySlice<UInt8>>, file: ArraySlice<UInt8>) -> Bool {
        for suffix in TensorPathPlanner.viewSuffixes where name.count > suffix.utf8.count && name.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) {
            if names.contains(name[..<(name.count - suffix.utf8.count)]) { return true }
        }
        return directories.isEmpty && TensorPathPlanner.reservedRootNames.contains { file.elementsEqual($0.utf8) }
    }
}

/// A set of names that answers "is this byte string a name?" without building strings.
struct NameSet {
    private var buckets: [UInt64: [[UInt8]]] = [:]

    init(_ names: [String]) {
        buckets.reserveCapacity(names.count)
        for name in names {
            let bytes = Array(name.utf8)
            buckets[FNV1a.hash(bytes), default: []].append(bytes)
        }
    }

    func contains(_ candidate: some Collection<UInt8>) -> Bool {
        guard let matches = buckets[FNV1a.hash(candidate)] else { return false }
        return matches.contains { $0.elementsEqual(candidate) }
    }
}

/// The 64-bit FNV-1a hash: small, fast on short names, and stable across runs.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hasher = FNV1a()
        hasher.combine(bytes)
        return hasher.value
    }
}
