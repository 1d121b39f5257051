import ByteSources
import SafetensorsFormat

/// The companion files of every model (`config.json`, a tokenizer, ...), numbered across the
/// models, model after model: each one a whole source file, shown unchanged, in its model's
/// tree and in every rank's.
struct CompanionFiles: Sendable {
    private let files: [CompanionFile]
    /// Where each model's companions start in the numbering, plus the total at the end.
    let firstCompanion: [Int]

    init(models: [LogicalModel]) {
        files = models.flatMap(\.companions)
        var starts = [0]
        for model in models { starts.append(starts.last! + model.companions.count) }
        firstCompanion = starts
    }

    /// Companion file `number`.
    func file(_ number: Int) -> CompanionFile { files[number] }

    /// Its contents: the whole source file.
    func contents(of number: Int) -> FileContents {
        let source = files[number].source
        return FileContents(prefix: nil, body: .source(source, ByteRange(start: 0, end: source.size)))
    }
}
