import Testing
import SafetensorsFormat

/// Every refusal reads as one line that starts with the file's name, whatever the file holds.
@Suite("error descriptions")
struct SafetensorsErrorTests {
    static let problems: [SafetensorsError.Problem] = [
        .fileTooShort(size: 3),
        .headerTooLarge(length: 100_000_001, limit: 100_000_000),
        .headerPastEndOfFile(length: 50, fileSize: 20),
        .invalidUTF8(offset: 7),
        .invalidJSON(offset: 2, reason: "expected ':' but found '}'"),
        .invalidTensorEntry(tensor: "a\nb", reason: "lacks the field `dtype`"),
        .unknownDType(tensor: "t", dtype: "f32\r\n"),
        .invalidMetadata(reason: "value of `k` is not a string"),
        .duplicateTensor(name: "line\u{2028}separator"),
        .misplacedTensor(tensor: "b", begin: 3, previous: "a\u{85}", previousEnd: 2),
        .misplacedTensor(tensor: "a", begin: 1, previous: nil, previousEnd: 0),
        .tensorEndsBeforeItBegins(tensor: "p\u{2029}q", begin: 4, end: 2),
        .shapeOverflow(tensor: "\u{0}"),
        .partialByte(tensor: "x", dtype: .f4, elementCount: 3),
        .sizeMismatch(tensor: "\u{1B}[31mred", expected: 8, actual: 4),
        .dataSizeMismatch(dataEnd: 10, fileSize: 11),
        .dataSizeMismatch(dataEnd: 12, fileSize: 11),
        .invalidIndex(reason: "index has no `weight_map`"),
    ]

    @Test("every problem is described on one line after the file's name", arguments: problems)
    func oneLine(problem: SafetensorsError.Problem) {
        let error = SafetensorsError(file: "dir/model.safetensors", problem: problem)
        expectOneLine(error, file: "dir/model.safetensors")
        #expect(error.description == "dir/model.safetensors: \(problem)")
    }

    static let awkwardNames = [
        #"a\nb"#, #"a\r\nb"#, #"\u0000"#, #"\u001b[2J"#, #"\u0085"#, #"\u2028"#, #"\u2029"#, #"\u007f"#, #"\u009b"#,
    ]

    @Test("control characters and line separators in a tensor name are escaped in errors", arguments: awkwardNames)
    func escapedName(name: String) throws {
        let file = CraftedFile("{" + tensor(name, "F32", [2], 0, 4) + "}", dataCount: 4)
        let problem = try #require(rejection(of: file))
        #expect(problem.kind == .sizeMismatch)
        let text = problem.description
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" })
    }

    @Test("a very long tensor name is shortened in errors, with its length")
    func longName() throws {
        let name = String(repeating: "layer.", count: 100)
        let problem = try #require(rejection(of: CraftedFile("{" + tensor(name, "F32", [2], 0, 4) + "}", dataCount: 4)))
        #expect(problem.description.utf8.count < 300)
        #expect(problem.description.contains("(600 bytes)"))
    }

    @Test("the unknown dtype is quoted with its control characters escaped")
    func quotedDType() {
        let problem = rejection(of: CraftedFile(#"{"t":{"dtype":"F32\n","shape":[1],"data_offsets":[0,4]}}"#, dataCount: 4))
        #expect(problem == .unknownDType(tensor: "t", dtype: "F32\n"))
        #expect(problem?.description.contains(#"`F32\n`"#) == true)
    }
}
