/// A value that is encoded (in JSON, say) as the text users write it in, and decoded by parsing
/// that text again, so that a decoded value passed the same checks as a typed one.
public protocol CodableAsText: Codable {
    /// Why a text is not a value.
    associatedtype ParseFailure: Error & CustomStringConvertible
    /// The value `text` stands for.
    init(parsingText text: String) throws(ParseFailure)
    /// The text that stands for the value.
    var text: String { get }
}

extension CodableAsText {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsingText: try container.decode(String.self))
        } catch let failure as ParseFailure {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: failure.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
