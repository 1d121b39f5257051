import SafetensorsFormat

/// Why a set of sources could not become a model: one line that names the file and the reason.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A file is not valid safetensors, or an index is malformed.
    case format(SafetensorsError)
    /// A file could not be opened or read.
    case source(ByteSourceError)
    /// The sources disagree with each other or with their index.
    case inconsistent(file: String, reason: String)
    /// Two files hold a tensor of the same name; `acrossSources` when the files come from
    /// different SOURCE arguments (unrelated models, perhaps, rather than one broken model).
    case duplicateTensor(name: String, firstFile: String, secondFile: String, acrossSources: Bool)
    /// A SOURCE argument names nothing usable.
    case unusableSource(String, reason: String)

    public var description: String {
        switch self {
        case .format(let error): error.description
        case .source(let error): error.description
        case .inconsistent(let file, let reason): "\(file): \(reason)"
        case .duplicateTensor(let name, let first, let second, _):
            "\(second): tensor \(quoted(name)) is also in \(first)"
        case .unusableSource(let source, let reason): "\(source): \(reason)"
        }
    }
}

extension ModelError {
    /// The result of `read`, its failure as a `.source` error.
    public static func reading<Value>(_ read: () throws(ByteSourceError) -> Value) throws(ModelError) -> Value {
        do {
            return try read()
        } catch {
            throw .source(error)
        }
    }

    /// The result of `parse`, its failure as a `.format` error.
    public static func parsing<Value>(_ parse: () throws(SafetensorsError) -> Value) throws(ModelError) -> Value {
        do {
            return try parse()
        } catch {
            throw .format(error)
        }
    }
}
