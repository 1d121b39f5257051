/// A Hugging Face shard index (`model.safetensors.index.json`): which file holds each tensor.
///
/// This is the index alone; checking it against the shards is the logical model's job. The
/// tensors' names are kept packed in a `NameTable` (an index may place a hundred thousand
/// tensors); `weightMap` builds the pairs as strings on request.
public struct ShardIndex: Sendable {
    /// One `tensor: file` pair of the `weight_map`.
    public struct Placement: Hashable, Sendable {
        /// The tensor's name.
        public var tensor: String
        /// The shard holding it, relative to the index's directory.
        public var file: String
        /// The position of `file` in `shardFiles`.
        public var shard: Int
    }

    /// The placed tensors' names; placement `n` is the table's name `n`.
    private let tensors: NameTable
    /// The position in `shardFiles` of each placement's file.
    private let placementShards: [Int32]
    /// The distinct shard files, in order of first mention.
    public let shardFiles: [String]
    /// The `metadata` value exactly as written (JSON text), or nil when absent.
    public var metadataJSON: String?
    /// `metadata.total_size` when it is a non-negative integer.
    public var totalSize: UInt64?
    /// The members of `metadata` whose values are strings, in the order written.
    public var metadataStrings: [MetadataEntry]

    /// Parses the text of an index file named `file`.
    public init(json: UnsafeRawBufferPointer, file: String) throws(SafetensorsError) {
        do throws(SafetensorsError.Problem) {
            if let offset = firstInvalidUTF8Offset(in: json) {
                throw .invalidIndex(reason: "index is not valid UTF-8 (at byte \(offset))")
            }
            var parser = IndexParser(scanner: JSONScanner(text: json))
            self = try parser.parse()
        } catch let problem {
            throw SafetensorsError(file: file, problem: ShardIndex.describedAsIndex(problem))
        }
    }

    init(weightMap: WeightMap, metadata: IndexMetadata) {
        tensors = weightMap.tensors
        placementShards = weightMap.shards
        shardFiles = weightMap.files
        metadataJSON = metadata.json
        totalSize = metadata.totalSize
        metadataStrings = metadata.strings
    }

    /// How many tensors the `weight_map` places.
    public var placementCount: Int { placementShards.count }

    /// The `weight_map` pairs in the order written, each tensor once.
    public var weightMap: [Placement] {
        (0..<placementCount).map(placement(_:))
    }

    /// Placement `position`, in the order written.
    public func placement(_ position: Int) -> Placement {
        let shard = Int(placementShards[position])
        return Placement(tensor: tensors.name(position), file: shardFiles[shard], shard: shard)
    }

    /// The position in `shardFiles` of the file placement `position` names.
    public func shard(ofPlacement position: Int) -> Int {
        Int(placementShards[position])
    }

    /// The names of the tensors placed, numbered as the placements.
    public var tensorNames: NameTable { tensors }

    /// The position of the placement of tensor `name`, if the index places it.
    public func position(ofTensorNamed name: String) -> Int? {
        tensors.number(of: name)
    }

    private static func describedAsIndex(_ problem: SafetensorsError.Problem) -> SafetensorsError.Problem {
        if case .invalidJSON(let offset, let reason) = problem {
            return .invalidIndex(reason: "index is not valid JSON: \(reason) (at byte \(offset))")
        }
        return problem
    }

    /// Why a `weight_map` path may not be followed, or nil when it is a plain relative path.
    /// Loaders refuse absolute paths and `..`; empty components and NUL are refused as well.
    public static func unsafePathReason(_ path: String) -> String? {
        if path.isEmpty { return "is empty" }
        if path.utf8.first == UInt8(ascii: "/") { return "is absolute" }
        if path.utf8.contains(0) { return "contains a NUL byte" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            if component == ".." { return "contains `..`" }
            if component.isEmpty { return "has an empty path component" }
        }
        if components.allSatisfy({ $0 == "." }) { return "names the index's own directory" }
        return nil
    }

    /// A safe `weight_map` path without its `.` components: `./a.safetensors` and
    /// `a.safetensors` name one file, as loaders that join paths find.
    static func withoutDotComponents(_ path: String) -> String {
        guard path.split(separator: "/").contains(".") else { return path }
        return path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

/// Reads the JSON of a shard index.
private struct IndexParser {
    var scanner: JSONScanner

    mutating func parse() throws(SafetensorsError.Problem) -> ShardIndex {
        var weightMap: WeightMap?
        var metadata: IndexMetadata?
        try scanner.expect(UInt8(ascii: "{"), "'{' (an index is a JSON object)")
        if !scanner.consumeIfPresent(UInt8(ascii: "}")) {
            repeat {
                let key = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                if scanner.string(key, equals: "weight_map") {
                    if weightMap != nil { throw .invalidIndex(reason: "`weight_map` appears twice") }
                    weightMap = try parseWeightMap()
                } else if scanner.string(key, equals: "metadata") {
                    if metadata != nil { throw .invalidIndex(reason: "`metadata` appears twice") }
                    metadata = try parseMetadata()
                } else {
                    try scanner.skipValue(depth: 2)
                }
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        }
        scanner.skipWhitespace()
        if !scanner.isAtEnd { throw scanner.error("trailing characters after the index object") }
        guard let weightMap else { throw .invalidIndex(reason: "index has no `weight_map`") }
        return ShardIndex(weightMap: weightMap, metadata: metadata ?? IndexMetadata())
    }

    private mutating func parseWeightMap() throws(SafetensorsError.Problem) -> WeightMap {
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else {
            throw .invalidIndex(reason: "`weight_map` is not an object")
        }
        scanner.position += 1
        // A hub index spends some 80 bytes per entry: size the table once.
        var map = WeightMap(expectedCount: scanner.text.count / 80)
        if scanner.consumeIfPresent(UInt8(ascii: "}")) { return map }
        repeat {
            let span = try scanner.scanString()
            let (isNew, position) = span.hasEscapes
                ? map.tensors.insert(scanner.string(span))
                : map.tensors.insert(scanner.bytes(span))
            // The name as a string only for a message.
            let reader = scanner
            func tensor() -> String { reader.string(span) }
            try scanner.expect(UInt8(ascii: ":"), "':'")
            scanner.skipWhitespace()
            guard scanner.current == UInt8(ascii: "\"") else {
                throw .invalidIndex(reason: "`weight_map` entry \(quoted(tensor())) is not a file name")
            }
            let shard = try scanFileName(of: tensor, into: &map)
            if isNew {
                map.shards.append(Int32(shard))
            } else if map.shards[position] != shard {
                let first = map.files[Int(map.shards[position])]
                throw .invalidIndex(reason: "`weight_map` places \(quoted(tensor())) in both \(quoted(first)) and \(quoted(map.files[shard]))")
            }
        } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        return map
    }

    /// Reads the file name placing `tensor` and returns its position in `map.files`, adding a
    /// new file once its path is checked. Thousands of tensors name a few files: each file is
    /// one shared string, and the one named last is recognised without building a string.
    private mutating func scanFileName(of tensor: () -> String, into map: inout WeightMap) throws(SafetensorsError.Problem) -> Int {
        let span = try scanner.scanString()
        if !span.hasEscapes, let previous = map.previousFile, previous.key.hasBytes(scanner.bytes(span)) {
            return previous.shard
        }
        let spelled = Utf8Key(scanner.string(span))
        let shard: Int
        if let known = map.fileShards[spelled] {
            shard = known
        } else {
            if let unsafe = ShardIndex.unsafePathReason(spelled.string) {
                throw .invalidIndex(reason: "`weight_map` places \(quoted(tensor())) in \(quoted(spelled.string)), a path that \(unsafe)")
            }
            // Another spelling of a file named before (with `.` components) is that file, shown
            // as first written.
            let file = Utf8Key(ShardIndex.withoutDotComponents(spelled.string))
            if let known = map.fileShards[file] {
                shard = known
            } else {
                shard = map.files.count
                map.fileShards[file] = shard
                map.files.append(spelled.string)
            }
            map.fileShards[spelled] = shard
        }
        map.previousFile = (spelled, shard)
        return shard
    }

    /// Reads `metadata`: keeps its text, its `total_size` if that is an unsigned integer, and
    /// its string-valued members.
    private mutating func parseMetadata() throws(SafetensorsError.Problem) -> IndexMetadata {
        scanner.skipWhitespace()
        let start = scanner.position
        if scanner.consumeLiteral("null") { return IndexMetadata() }
        guard scanner.current == UInt8(ascii: "{") else {
            throw .invalidIndex(reason: "`metadata` is not an object")
        }
        scanner.position += 1
        var metadata = IndexMetadata()
        if !scanner.consumeIfPresent(UInt8(ascii: "}")) {
            repeat {
                let key = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                let valueStart = scanner.position
                if scanner.current == UInt8(ascii: "\"") {
                    let value = scanner.string(try scanner.scanString())
                    metadata.strings.append(MetadataEntry(key: scanner.string(key), value: value))
                    continue
                }
                try scanner.skipValue(depth: 3)
                if scanner.string(key, equals: "total_size") {
                    var number = JSONScanner(text: UnsafeRawBufferPointer(rebasing: scanner.text[valueStart..<scanner.position]))
                    metadata.totalSize = try? number.scanUnsignedInteger("total_size")
                }
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        }
        let text = UnsafeRawBufferPointer(rebasing: scanner.text[start..<scanner.position])
        metadata.json = String(decoding: text, as: UTF8.self)
        return metadata
    }
}

/// What an index's `metadata` holds that tensorfs uses.
struct IndexMetadata {
    var json: String?
    var totalSize: UInt64?
    var strings: [MetadataEntry] = []
}

/// A `weight_map` as it is read: the tensors placed, each one's shard, and the distinct files.
struct WeightMap {
    var tensors: NameTable
    var shards: [Int32] = []
    var files: [String] = []
    var fileShards: [Utf8Key: Int] = [:]
    var previousFile: (key: Utf8Key, shard: Int)?

    init(expectedCount: Int = 0) {
        // Names take about half of an entry's text.
        tensors = NameTable(minimumCapacity: expectedCount, byteCount: expectedCount * 40)
        shards.reserveCapacity(expectedCount)
    }
}
