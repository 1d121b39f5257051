import SafetensorsFormat

/// Why a set of sources could not become a model: one line that names the file and the reason.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A file is not valid safetensors, or an index is malformed.
    case format(SafetensorsError)
    /// A file could not be opened or read.
    case source(ByteSourceError)
    /// The sources disagree with each other or with their index.
    case inconsistent(file: String, reason: String)
    /// Two files hold a tensor of the same name.
    case duplicateTensor(name: String, firstFile: String, secondFile: String)
    /// A SOURCE argument names nothing usable.
    case unusableSource(String, reason: String)

    public var description: String {
        switch self {
        case .format(let error): error.description
        case .source(let error): error.description
        case .inconsistent(let file, let reason): "\(file): \(reason)"
        case .duplicateTensor(let name, let first, let second):
            "\(second): tensor \(quotedName(name)) is also in \(first)"
        case .unusableSource(let source, let reason): "\(source): \(reason)"
        }
    }
}
