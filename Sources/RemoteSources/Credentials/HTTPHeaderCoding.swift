import ByteSources

/// A header travels (to the mount daemon, inside its settings) as its line, `Name: value`, and
/// is checked again on the way in.
extension HTTPHeader: CodableAsText {
    public init(parsingText text: String) throws(HTTPHeaderError) {
        try self.init(parsing: text)
    }

    public var text: String { line }
}
