import Testing
import SafetensorsFormat

/// The Hugging Face shard index, `model.safetensors.index.json`.
@Suite("shard index")
struct ShardIndexTests {
    static let name = "model/model.safetensors.index.json"

    private func parse(_ json: String) throws(SafetensorsError) -> ShardIndex {
        try parse(bytes: Array(json.utf8))
    }

    private func parse(bytes: [UInt8]) throws(SafetensorsError) -> ShardIndex {
        try withBytes(of: bytes) { buffer throws(SafetensorsError) in
            try ShardIndex(json: buffer, file: ShardIndexTests.name)
        }
    }

    /// Parses `json`, recording an issue unless it is rejected as an invalid index on one line.
    private func rejection(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        rejection(bytes: Array(json.utf8), sourceLocation: sourceLocation)
    }

    private func rejection(bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        do {
            let index = try parse(bytes: bytes)
            Issue.record("expected a rejection, got \(index.weightMap.count) placements", sourceLocation: sourceLocation)
            return nil
        } catch {
            expectOneLine(error, file: ShardIndexTests.name, sourceLocation: sourceLocation)
            guard case .invalidIndex(let reason) = error.problem else {
                Issue.record("expected invalidIndex, got \(error.problem)", sourceLocation: sourceLocation)
                return nil
            }
            return reason
        }
    }

    private func placements(_ index: ShardIndex) -> [[String]] {
        index.weightMap.map { [$0.tensor, $0.file] }
    }

    @Test("a valid index yields its placements in order, its shards and its total size")
    func valid() throws {
        let index = try parse(#"""
            {
              "metadata": {"total_size": 1234, "format": "pt"},
              "weight_map": {
                "model.embed.weight": "model-00001-of-00002.safetensors",
                "model.norm.weight": "model-00002-of-00002.safetensors",
                "lm_head.weight": "model-00001-of-00002.safetensors"
              }
            }
            """#)
        #expect(placements(index) == [
            ["model.embed.weight", "model-00001-of-00002.safetensors"],
            ["model.norm.weight", "model-00002-of-00002.safetensors"],
            ["lm_head.weight", "model-00001-of-00002.safetensors"],
        ])
        #expect(index.shardFiles == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        #expect(index.totalSize == 1234)
    }

    @Test("shard names are taken as written, whatever their pattern, in relative subfolders too")
    func shardNamesAsWritten() throws {
        let index = try parse(#"{"weight_map":{"a":"weights/part.A.safetensors","b":"x","c":"./y.bin","d":"a..b/c..d"}}"#)
        #expect(index.shardFiles == ["weights/part.A.safetensors", "x", "./y.bin", "a..b/c..d"])
    }

    @Test("an empty weight_map is a valid index with no shards")
    func emptyWeightMap() throws {
        let index = try parse(#"{"weight_map":{}}"#)
        #expect(index.weightMap.isEmpty)
        #expect(index.shardFiles.isEmpty)
        #expect(index.metadataJSON == nil)
        #expect(index.totalSize == nil)
    }

    @Test("an index without a weight_map is rejected")
    func missingWeightMap() {
        #expect(rejection(#"{"metadata":{"total_size":0}}"#) == "index has no `weight_map`")
        #expect(rejection("{}") == "index has no `weight_map`")
    }

    @Test("a weight_map that is not an object is rejected", arguments: ["[]", #"[["a","b"]]"#, #""x""#, "null", "1"])
    func weightMapNotObject(value: String) {
        #expect(rejection(#"{"weight_map":\#(value)}"#) == "`weight_map` is not an object")
    }

    @Test("a weight_map value that is not a file name is rejected", arguments: ["1", "null", "{}", #"["a"]"#, "true"])
    func weightMapValueNotString(value: String) {
        #expect(rejection(#"{"weight_map":{"t":\#(value)}}"#)?.contains("`t`") == true)
    }

    static let unsafePaths: [(String, String)] = [
        ("/abs/model.safetensors", "is absolute"), ("/", "is absolute"),
        ("..", "contains `..`"), ("../model.safetensors", "contains `..`"),
        ("a/../model.safetensors", "contains `..`"), ("a/..", "contains `..`"),
        ("a//b.safetensors", "has an empty path component"), ("a/", "has an empty path component"),
        ("", "is empty"), (#"a\u0000b"#, "contains a NUL byte"),
        (".", "names the index's own directory"), ("./.", "names the index's own directory"),
    ]

    @Test("a weight_map path that is absolute, climbs with .., or has empty components is rejected", arguments: unsafePaths)
    func unsafePath(path: String, reason: String) {
        let message = rejection(#"{"weight_map":{"t":"ok.safetensors","u":"\#(path)"}}"#)
        #expect(message?.contains(reason) == true, "\(message ?? "accepted")")
        #expect(message?.contains("`u`") == true)
    }

    @Test("path safety is judged on components, not substrings")
    func pathComponents() {
        #expect(ShardIndex.unsafePathReason("model.safetensors") == nil)
        #expect(ShardIndex.unsafePathReason("sub/dir/model.safetensors") == nil)
        #expect(ShardIndex.unsafePathReason("..model") == nil)
        #expect(ShardIndex.unsafePathReason("a/...") == nil)
        #expect(ShardIndex.unsafePathReason("./model") == nil)
        #expect(ShardIndex.unsafePathReason("a/../b") == "contains `..`")
        #expect(ShardIndex.unsafePathReason("/a") == "is absolute")
    }

    @Test("spellings of one path that differ by `.` components name one shard, shown as first written")
    func dotComponents() throws {
        let index = try parse(#"{"weight_map":{"a":"x.safetensors","b":"./x.safetensors","c":"sub/./y.safetensors","d":"./sub/y.safetensors"}}"#)
        #expect(index.shardFiles == ["x.safetensors", "sub/./y.safetensors"])
        #expect(placements(index) == [["a", "x.safetensors"], ["b", "x.safetensors"], ["c", "sub/./y.safetensors"], ["d", "sub/./y.safetensors"]])
    }

    @Test("a tensor listed twice in different files is rejected")
    func tensorInTwoFiles() {
        let message = rejection(#"{"weight_map":{"t":"a.safetensors","u":"a.safetensors","t":"b.safetensors"}}"#)
        #expect(message?.contains("`a.safetensors`") == true)
        #expect(message?.contains("`b.safetensors`") == true)
    }

    @Test("a tensor listed twice in the same file is kept once, where first listed")
    func tensorTwiceSameFile() throws {
        let index = try parse(#"{"weight_map":{"t":"a.safetensors","u":"b.safetensors","t":"a.safetensors"}}"#)
        #expect(placements(index) == [["t", "a.safetensors"], ["u", "b.safetensors"]])
    }

    @Test("tensor names that differ only by Unicode normalization are distinct entries")
    func normalizationDistinct() throws {
        let index = try parse(#"{"weight_map":{"\u00e9":"a.safetensors","e\u0301":"b.safetensors"}}"#)
        #expect(index.weightMap.count == 2)
    }

    @Test("the metadata is kept as its raw JSON text")
    func metadataRawText() throws {
        let metadata = #"{ "total_size" : 42,"nested": {"a": [1, 2.5e3, null]}, "s": "\u00e9\n" }"#
        let index = try parse(#"{"metadata":  \#(metadata) , "weight_map":{}}"#)
        #expect(index.metadataJSON == metadata)
        #expect(index.totalSize == 42)
    }

    static let totalSizes: [(String, UInt64?)] = [
        ("0", 0), ("18446744073709551615", .max), ("18446744073709551616", nil), ("1.5", nil),
        ("1e3", nil), ("-1", nil), (#""1234""#, nil), ("null", nil), ("{}", nil),
    ]

    @Test("total_size is extracted when it is a non-negative 64-bit integer", arguments: totalSizes)
    func totalSize(literal: String, expected: UInt64?) throws {
        let index = try parse(#"{"metadata":{"format":"pt","total_size":\#(literal)},"weight_map":{}}"#)
        #expect(index.totalSize == expected)
        #expect(index.metadataJSON != nil)
    }

    @Test("metadata may be absent or null")
    func metadataAbsent() throws {
        #expect(try parse(#"{"weight_map":{}}"#).metadataJSON == nil)
        let index = try parse(#"{"metadata":null,"weight_map":{}}"#)
        #expect(index.metadataJSON == nil)
        #expect(index.totalSize == nil)
    }

    @Test("metadata that is not an object is rejected", arguments: ["1", #""x""#, "[]"])
    func metadataNotObject(value: String) {
        #expect(rejection(#"{"metadata":\#(value),"weight_map":{}}"#) == "`metadata` is not an object")
    }

    @Test("unknown top-level keys are ignored")
    func unknownKeys() throws {
        let index = try parse(#"{"format":"pt","extra":{"a":[1,{"b":null}]},"weight_map":{"t":"a.safetensors"},"n":1e5}"#)
        #expect(index.weightMap.count == 1)
    }

    @Test("a repeated weight_map or metadata key is rejected")
    func repeatedKeys() {
        #expect(rejection(#"{"weight_map":{},"weight_map":{}}"#) == "`weight_map` appears twice")
        #expect(rejection(#"{"metadata":{},"metadata":{},"weight_map":{}}"#) == "`metadata` appears twice")
    }

    static let malformed = ["", "[]", "{", #"{"weight_map":{"t":"a"}"#, #"{"weight_map":{}} x"#, #"{"weight_map":{"t":"a",}}"#, "\u{FEFF}{}"]

    @Test("an index that is not a JSON object is rejected as an invalid index", arguments: malformed)
    func notJSON(json: String) {
        #expect(rejection(json) != nil)
    }

    @Test("an index that is not UTF-8 is rejected")
    func notUTF8() {
        let bytes = Array(#"{"weight_map":{"t":"a"#.utf8) + [0xC0, 0xAF] + Array(#""}}"#.utf8)
        #expect(rejection(bytes: bytes)?.contains("UTF-8") == true)
    }
}
