// The option types a mount's configuration carries to its daemon: layouts and uneven splits by
// their raw values, view selections as the list `--views` takes.

extension Layout: Codable {}

extension UnevenSplit: Codable {}

extension ViewSelection: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsing: try container.decode(String.self))
        } catch let error as ViewSelectionError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
