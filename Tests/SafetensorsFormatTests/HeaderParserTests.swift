import Testing
import SafetensorsFormat

/// Rule 5: the shape of the header object, its tensor entries and `__metadata__`. Each
/// expectation was checked against safetensors 0.8.0.
@Suite("header shape")
struct HeaderParserTests {
    @Test("a well-formed header yields its tensors and metadata")
    func wellFormed() throws {
        let file = CraftedFile(
            #"{"__metadata__":{"format":"pt","note":"é"},"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}}"#,
            dataCount: 18)
        let header = try #require(acceptance(of: file))
        #expect(header.metadata == [MetadataEntry(key: "format", value: "pt"), MetadataEntry(key: "note", value: "é")])
        #expect(header.tensors == [
            TensorInfo(name: "w", dtype: .f16, shape: [2, 3], dataOffsets: ByteRange(start: 0, end: 12)),
            TensorInfo(name: "b", dtype: .bf16, shape: [3], dataOffsets: ByteRange(start: 12, end: 18)),
        ])
        #expect(header.fileRange(of: header.tensors[1]) == ByteRange(start: header.dataStart + 12, end: header.dataStart + 18))
        #expect(header.dataStart + 18 == header.fileSize)
    }

    @Test("an empty header {} is a valid file with no tensors")
    func emptyObject() throws {
        let header = try #require(acceptance(of: CraftedFile("{}")))
        #expect(header.tensors.isEmpty)
        #expect(header.metadata == nil)
    }

    // MARK: dtype

    static let unknownDTypes = ["f32", "bf16", "Bool", "float32", "F128", "", "F32 ", " F32", "F8_E4M3FN", "C128", "U4"]

    @Test("an unknown or lower-case dtype is rejected", arguments: unknownDTypes)
    func unknownDType(dtype: String) {
        let file = entryFile(#""dtype":"\#(dtype)","shape":[1],"data_offsets":[0,4]"#)
        #expect(rejection(of: file) == .unknownDType(tensor: "t", dtype: dtype))
    }

    @Test("a dtype spelled with escapes is recognized")
    func escapedDType() {
        let file = entryFile(#""dtype":"F\u0033\u0032","shape":[1],"data_offsets":[0,4]"#)
        #expect(acceptance(of: file)?.tensors.first?.dtype == .f32)
    }

    static let nonStringDTypes = ["null", "32", #"["F32"]"#, "true"]

    @Test("a dtype that is neither a string nor an object is rejected", arguments: nonStringDTypes)
    func nonStringDType(dtype: String) {
        #expect(rejection(of: entryFile(#""dtype":\#(dtype),"shape":[1],"data_offsets":[0,4]"#))?.kind == .invalidJSON)
    }

    static let dtypeObjects = [#"{"F32":null}"#, #"{ "F32" : null }"#, #"{"F\u0033\u0032":null}"#]

    @Test("a dtype written as an object mapping it to null is accepted, as serde reads an enum", arguments: dtypeObjects)
    func dtypeAsObject(dtype: String) {
        let file = entryFile(#""dtype":\#(dtype),"shape":[1],"data_offsets":[0,4]"#)
        #expect(acceptance(of: file)?.tensors.first?.dtype == .f32)
    }

    static let badDTypeObjects = [
        "{}", #"{"F32":null,"F32":null}"#, #"{"F32":null,"U8":null}"#, #"{"F32":1}"#, #"{"F32":{}}"#,
        #"{"F32":[]}"#, #"{"F32":"F32"}"#, #"{"F32":nul}"#,
    ]

    @Test("a dtype object without exactly one key mapped to null is rejected", arguments: badDTypeObjects)
    func dtypeObjectMalformed(dtype: String) {
        let kind = rejection(of: entryFile(#""dtype":\#(dtype),"shape":[1],"data_offsets":[0,4]"#))?.kind
        #expect(kind == .invalidTensorEntry || kind == .invalidJSON)
    }

    @Test("a dtype object naming an unknown dtype is rejected")
    func dtypeObjectUnknown() {
        let file = entryFile(#""dtype":{"f32":null},"shape":[1],"data_offsets":[0,4]"#)
        #expect(rejection(of: file) == .unknownDType(tensor: "t", dtype: "f32"))
    }

    // MARK: shape and data_offsets

    static let offsetCounts = ["[]", "[0]", "[0,4,4]", "[0,2,4]"]

    @Test("data_offsets without exactly two values is rejected", arguments: offsetCounts)
    func offsetCount(offsets: String) {
        #expect(rejection(of: entryFile(#""dtype":"F32","shape":[1],"data_offsets":\#(offsets)"#))?.kind == .invalidJSON)
    }

    static let notIntegers = ["1.0", "1e0", "1E0", "0.5e1", "4.0", "4e0", "-0", "-0.0", "-1", "-4", #""4""#, "null", "true", "[4]", "18446744073709551616", "99999999999999999999"]

    @Test("a shape extent that is not a non-negative 64-bit integer is rejected", arguments: notIntegers)
    func shapeNotInteger(value: String) {
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":[\#(value)],"data_offsets":[0,4]"#))?.kind == .invalidJSON)
    }

    @Test("a data offset that is not a non-negative 64-bit integer is rejected", arguments: notIntegers)
    func offsetNotInteger(value: String) {
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":[4],"data_offsets":[0,\#(value)]"#))?.kind == .invalidJSON)
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":[0],"data_offsets":[\#(value),0]"#, dataCount: 0))?.kind == .invalidJSON)
    }

    @Test("2^64-1 is read as a number in shapes and offsets")
    func largestInteger() {
        let max = "18446744073709551615"
        let shape = entryFile(#""dtype":"U8","shape":[\#(max),0],"data_offsets":[0,0]"#, dataCount: 0)
        #expect(acceptance(of: shape)?.tensors.first?.shape == [.max, 0])
        let offsets = entryFile(#""dtype":"U8","shape":[4],"data_offsets":[0,\#(max)]"#)
        #expect(rejection(of: offsets) == .sizeMismatch(tensor: "t", expected: 4, actual: .max))
    }

    @Test("shape and data_offsets must be arrays")
    func nonArrays() {
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":4,"data_offsets":[0,4]"#))?.kind == .invalidJSON)
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":{"0":4},"data_offsets":[0,4]"#))?.kind == .invalidJSON)
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":[4],"data_offsets":{"0":0,"1":4}"#))?.kind == .invalidJSON)
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":null,"data_offsets":[0,4]"#))?.kind == .invalidJSON)
        #expect(rejection(of: entryFile(#""dtype":"U8","shape":[4],"data_offsets":null"#))?.kind == .invalidJSON)
    }

    // MARK: Fields of a tensor entry

    static let missingFields: [(String, String)] = [
        ("dtype", #""shape":[1],"data_offsets":[0,4]"#),
        ("shape", #""dtype":"F32","data_offsets":[0,4]"#),
        ("data_offsets", #""dtype":"F32","shape":[1]"#),
        ("dtype", ""),
    ]

    @Test("an entry missing a field is rejected", arguments: missingFields)
    func missingField(field: String, fields: String) {
        #expect(rejection(of: entryFile(fields)) == .invalidTensorEntry(tensor: "t", reason: "lacks the field `\(field)`"))
    }

    static let duplicatedFields: [(String, String)] = [
        ("dtype", #""dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]"#),
        ("shape", #""dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]"#),
        ("data_offsets", #""dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]"#),
        ("dtype", #""dtype":"U8","shape":[4],"data_offsets":[0,4],"dtype":"F32""#),
    ]

    @Test("an entry with a duplicated field is rejected", arguments: duplicatedFields)
    func duplicatedField(field: String, fields: String) {
        #expect(rejection(of: entryFile(fields)) == .invalidTensorEntry(tensor: "t", reason: "field `\(field)` appears twice"))
    }

    static let extraFields = [
        #""x""#, "0", "-0", "1.5e300", "123456789012345678901234567890", "true", "null", "[]", "{}",
        #"{"a":{"b":[1,{"c":null}]},"d":18446744073709551616}"#, #"{"dtype":"bogus","shape":-1}"#,
    ]

    @Test("unknown extra fields in an entry are accepted, whatever they hold", arguments: extraFields)
    func extraField(value: String) {
        acceptance(of: extraFieldFile(value))
    }

    @Test("unknown fields may repeat, and may be named like reserved keys")
    func repeatedExtraFields() {
        let file = entryFile(#""x":1,"__metadata__":5,"dtype":"U8","x":"again","shape":[4],"data_offsets":[0,4],"Dtype":"?""#)
        acceptance(of: file)
    }

    @Test("fields may come in any order")
    func fieldOrder() {
        acceptance(of: entryFile(#""data_offsets":[0,4],"shape":[4],"dtype":"U8""#))
    }

    static let nonEntries = ["null", "1", #""F32""#, "true", "false"]

    @Test("a tensor entry that is null or a scalar is rejected", arguments: nonEntries)
    func nonEntry(value: String) {
        #expect(rejection(of: CraftedFile(#"{"t":\#(value)}"#))?.kind == .invalidTensorEntry)
    }

    // MARK: The array form of an entry

    static let arrayEntries = [#"["U8",[4],[0,4]]"#, #" [ "U8" , [ 4 ] , [ 0 , 4 ] ] "#, #"[{"U8":null},[4],[0,4]]"#]

    @Test("an entry written as [dtype, shape, data_offsets] is accepted, as serde reads a struct", arguments: arrayEntries)
    func arrayEntry(entry: String) {
        let header = acceptance(of: CraftedFile(#"{"t":\#(entry)}"#, dataCount: 4))
        #expect(header?.tensors == [TensorInfo(name: "t", dtype: .u8, shape: [4], dataOffsets: ByteRange(start: 0, end: 4))])
    }

    @Test("array and object entries may be mixed")
    func mixedEntries() {
        let file = CraftedFile(#"{"a":["U8",[4],[0,4]],"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#, dataCount: 6)
        #expect(acceptance(of: file)?.tensors.map(\.name) == ["a", "b"])
    }

    static let badArrayLengths = ["[]", #"["U8"]"#, #"["U8",[4]]"#, #"["U8",[4],[0,4],{}]"#, #"["U8",[4],[0,4],null]"#]

    @Test("an array entry without exactly three values is rejected", arguments: badArrayLengths)
    func arrayEntryLength(entry: String) {
        #expect(rejection(of: CraftedFile(#"{"t":\#(entry)}"#, dataCount: 4))?.kind == .invalidTensorEntry)
    }

    static let badArrayValues = [#"[[4],"U8",[0,4]]"#, #"["U8",[4.0],[0,4]]"#, #"["U8",[4],[0,4,4]]"#, #"["u8",[4],[0,4]]"#, #"["U8" [4],[0,4]]"#]

    @Test("an array entry with values out of order or malformed is rejected", arguments: badArrayValues)
    func arrayEntryValues(entry: String) {
        #expect(rejection(of: CraftedFile(#"{"t":\#(entry)}"#, dataCount: 4)) != nil)
    }

    // MARK: __metadata__

    @Test("__metadata__ may be null, empty, or absent")
    func metadataEmpty() {
        #expect(acceptance(of: CraftedFile(#"{"__metadata__":null}"#))?.metadata == nil)
        #expect(acceptance(of: CraftedFile(#"{"__metadata__":{}}"#))?.metadata == [])
        #expect(acceptance(of: CraftedFile(#"{}"#))?.metadata == nil)
    }

    @Test("__metadata__ keeps its pairs in the order written, escapes decoded")
    func metadataOrder() {
        let file = CraftedFile(#"{"__metadata__":{"z":"1","a":"2","k\n":"v\u00e9\ud83d\ude00","":""}}"#)
        #expect(acceptance(of: file)?.metadata == [
            MetadataEntry(key: "z", value: "1"), MetadataEntry(key: "a", value: "2"),
            MetadataEntry(key: "k\n", value: "vé😀"), MetadataEntry(key: "", value: ""),
        ])
    }

    @Test("a key repeated inside __metadata__ keeps its last value, as the reference does")
    func metadataRepeatedKey() {
        let file = CraftedFile(#"{"__metadata__":{"a":"1","b":"x","a":"2"}}"#)
        #expect(acceptance(of: file)?.metadata == [MetadataEntry(key: "a", value: "2"), MetadataEntry(key: "b", value: "x")])
    }

    static let nonStringValues = ["1", "1.5", "-0", "true", "null", "{}", "[]", #"["v"]"#, #"{"k":"v"}"#]

    @Test("a non-string value in __metadata__ is rejected", arguments: nonStringValues)
    func metadataNonString(value: String) {
        #expect(rejection(of: CraftedFile(#"{"__metadata__":{"ok":"v","k":\#(value)}}"#))?.kind == .invalidMetadata)
    }

    static let nonObjectMetadata = [#""pt""#, "[]", #"[["format","pt"]]"#, "1", "true"]

    @Test("__metadata__ that is neither an object nor null is rejected", arguments: nonObjectMetadata)
    func metadataNotObject(value: String) {
        #expect(rejection(of: CraftedFile(#"{"__metadata__":\#(value)}"#))?.kind == .invalidJSON)
    }

    static let duplicatedMetadata = [
        #"{"__metadata__":{},"__metadata__":{}}"#,
        #"{"__metadata__":null,"__metadata__":{"a":"b"}}"#,
        #"{"__metadata__":{"a":"b"},"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"__metadata__":null}"#,
        #"{"__metadata__":{},"__metadat\u0061__":{}}"#,
    ]

    @Test("a duplicated __metadata__ key is rejected", arguments: duplicatedMetadata)
    func metadataDuplicated(header: String) {
        #expect(rejection(of: CraftedFile(header))?.kind == .invalidJSON)
    }

    @Test("__metadata__ may come anywhere among the tensors")
    func metadataPosition() {
        let file = CraftedFile(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":"v"},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, dataCount: 2)
        let header = acceptance(of: file)
        #expect(header?.metadata == [MetadataEntry(key: "k", value: "v")])
        #expect(header?.tensors.map(\.name) == ["a", "b"])
    }

    // MARK: Tensor names

    /// A header with one zero-size tensor per JSON-encoded name.
    private func zeroSizeTensors(_ names: [String]) -> CraftedFile {
        CraftedFile("{" + names.map { tensor($0, "U8", [0], 0, 0) }.joined(separator: ",") + "}")
    }

    static let arbitraryNames: [(String, String)] = [
        ("", ""), ("a/b/../c", "a/b/../c"), (#"a\u0000b"#, "a\u{0}b"), ("..", ".."), (".", "."),
        ("/", "/"), ("/abs/path", "/abs/path"), (#"a\\b"#, "a\\b"), (#"a\/b"#, "a/b"), (#"line\nbreak"#, "line\nbreak"),
        ("__metadata", "__metadata"), ("__METADATA__", "__METADATA__"), (" ", " "),
        ("模型.层.0", "模型.层.0"), ("😀", "😀"), ("שלום", "שלום"), (#"\u202Eevil"#, "\u{202E}evil"),
        (String(repeating: "n", count: 600), String(repeating: "n", count: 600)),
        (String(repeating: "é", count: 300), String(repeating: "é", count: 300)),
    ]

    @Test("tensor names are arbitrary strings, kept exactly", arguments: arbitraryNames)
    func arbitraryName(json: String, name: String) throws {
        let header = try #require(acceptance(of: zeroSizeTensors([json])))
        #expect(header.tensors.count == 1)
        #expect(Array(header.tensors[0].name.utf8) == Array(name.utf8))
    }

    @Test("canonically equivalent but byte-different names are two distinct tensors")
    func canonicallyEquivalentNames() throws {
        let header = try #require(acceptance(of: zeroSizeTensors([#"\u00e9"#, #"e\u0301"#, "\u{212B}", "\u{C5}", "A\u{30A}"])))
        let names = header.tensors.map { Array($0.name.utf8) }
        #expect(Set(names).count == 5)
        #expect(names.contains(Array("\u{E9}".utf8)))
        #expect(names.contains(Array("e\u{301}".utf8)))
    }

    @Test("a name spelled __metadata__ through escapes is the metadata key, not a tensor")
    func escapedMetadataName() {
        let header = acceptance(of: CraftedFile(#"{"\u005f_metadata__":{"format":"pt"}}"#))
        #expect(header?.tensors.isEmpty == true)
        #expect(header?.metadata == [MetadataEntry(key: "format", value: "pt")])
    }
}
