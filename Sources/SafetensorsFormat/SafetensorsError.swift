/// Why a safetensors file or shard index was refused, naming the file and what is wrong in it.
public struct SafetensorsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as the user named it (a path, a URL, or a display name).
    public var file: String
    /// What is wrong.
    public var problem: Problem

    /// Creates an error about `file`.
    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    /// One line: the file, then the reason.
    public var description: String { "\(file): \(problem)" }

    /// A defect found in a file, without the file's name.
    public enum Problem: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file is shorter than the 8-byte header length.
        case fileTooShort(size: UInt64)
        /// The header length exceeds the format's limit.
        case headerTooLarge(length: UInt64, limit: UInt64)
        /// The header would end past the end of the file.
        case headerPastEndOfFile(length: UInt64, fileSize: UInt64)
        /// The header is not valid UTF-8 at this byte of the header.
        case invalidUTF8(offset: Int)
        /// The header is not JSON of the required shape; `offset` is a byte of the header.
        case invalidJSON(offset: Int, reason: String)
        /// A tensor entry lacks a field, has it twice, or holds a value of the wrong type.
        case invalidTensorEntry(tensor: String, reason: String)
        /// A tensor's dtype is not one of the 22 the format defines.
        case unknownDType(tensor: String, dtype: String)
        /// `__metadata__` is not null nor an object of strings.
        case invalidMetadata(reason: String)
        /// Two entries share one tensor name.
        case duplicateTensor(name: String)
        /// A tensor does not begin where the previous one (in offset order) ends.
        case misplacedTensor(tensor: String, begin: UInt64, previous: String?, previousEnd: UInt64)
        /// A tensor's end offset precedes its begin offset.
        case tensorEndsBeforeItBegins(tensor: String, begin: UInt64, end: UInt64)
        /// The shape's element count or bit count does not fit in 64 bits.
        case shapeOverflow(tensor: String)
        /// The tensor's bit count is not a whole number of bytes.
        case partialByte(tensor: String, dtype: DType, elementCount: UInt64)
        /// The tensor's byte range does not match its dtype and shape.
        case sizeMismatch(tensor: String, expected: UInt64, actual: UInt64)
        /// The data buffer does not end exactly at the end of the file.
        case dataSizeMismatch(dataEnd: UInt64, fileSize: UInt64)
        /// A shard index is malformed.
        case invalidIndex(reason: String)
        /// A model's `config.json` is malformed where tensorfs reads it.
        case invalidConfig(reason: String)

        public var description: String {
            switch self {
            case .fileTooShort(let size):
                return "file is \(size) bytes, too short for the 8-byte header length"
            case .headerTooLarge(let length, let limit):
                return "header length \(length) exceeds the limit of \(limit) bytes"
            case .headerPastEndOfFile(let length, let fileSize):
                return "header of \(length) bytes runs past the end of the \(fileSize)-byte file"
            case .invalidUTF8(let offset):
                return "header is not valid UTF-8 (at header byte \(offset))"
            case .invalidJSON(let offset, let reason):
                return "header is not valid: \(reason) (at header byte \(offset))"
            case .invalidTensorEntry(let tensor, let reason):
                return "tensor \(quoted(tensor)): \(reason)"
            case .unknownDType(let tensor, let dtype):
                return "tensor \(quoted(tensor)) has unknown dtype \(quoted(dtype))"
            case .invalidMetadata(let reason):
                return "__metadata__ \(reason)"
            case .duplicateTensor(let name):
                return "tensor \(quoted(name)) is defined more than once"
            case .misplacedTensor(let tensor, let begin, let previous, let previousEnd):
                if let previous {
                    return "tensor \(quoted(previous)) ends at byte \(previousEnd) but the next tensor \(quoted(tensor)) starts at \(begin)"
                }
                return "the first tensor \(quoted(tensor)) starts at byte \(begin) instead of 0"
            case .tensorEndsBeforeItBegins(let tensor, let begin, let end):
                return "tensor \(quoted(tensor)) ends at byte \(end), before it begins at \(begin)"
            case .shapeOverflow(let tensor):
                return "tensor \(quoted(tensor)): the size of its shape overflows 64 bits"
            case .partialByte(let tensor, let dtype, let elementCount):
                return "tensor \(quoted(tensor)): \(elementCount) elements of \(dtype.name) are not a whole number of bytes"
            case .sizeMismatch(let tensor, let expected, let actual):
                return "tensor \(quoted(tensor)) spans \(actual) bytes but its dtype and shape need \(expected)"
            case .dataSizeMismatch(let dataEnd, let fileSize):
                if dataEnd < fileSize {
                    return "\(fileSize - dataEnd) trailing bytes after the data buffer, which ends at byte \(dataEnd) of \(fileSize)"
                }
                return "data buffer ends at byte \(dataEnd), past the end of the \(fileSize)-byte file"
            case .invalidIndex(let reason), .invalidConfig(let reason):
                return reason
            }
        }
    }
}

/// `text` with control characters and line separators escaped (`\n`, `\u{85}`), so that it
/// stays on one line of a message or a table.
public func escapedForOneLine(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029:
            result += scalar.escaped(asASCII: true)
        default:
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// A name in backquotes, escaped so that an error stays on one line.
public func quoted(_ name: String) -> String {
    var result = "`" + escapedForOneLine(name)
    if result.utf8.count > 200 {
        result = String(result.prefix(160)) + "…(\(name.utf8.count) bytes)"
    }
    return result + "`"
}
