import ByteSources

// The option types a mount's configuration carries to its daemon: layouts and uneven splits by
// their raw values, view selections as the list `--views` takes.

extension Layout: Codable {}

extension UnevenSplit: Codable {}

extension ViewSelection: CodableAsText {
    public init(parsingText text: String) throws(ViewSelectionError) {
        try self.init(parsing: text)
    }

    public var text: String { description }
}
