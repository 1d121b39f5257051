/// A shell-style pattern over tensor names, compared byte by byte: `*` matches any run of
/// characters (dots included), `?` exactly one character, `\` makes the next character literal,
/// and every other character matches itself. The whole name must match.
public struct GlobPattern: Hashable, Sendable, CustomStringConvertible {
    /// The pattern as written.
    public let text: String
    private let tokens: [Token]

    private enum Token: Hashable {
        case byte(UInt8)
        case anyCharacter
        case anyRun
    }

    /// Compiles `text`; nil when it ends in a lone `\`.
    public init?(_ text: String) {
        var tokens: [Token] = []
        var escaped = false
        for byte in text.utf8 {
            if escaped {
                tokens.append(.byte(byte))
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "*"): if tokens.last != .anyRun { tokens.append(.anyRun) }
            case UInt8(ascii: "?"): tokens.append(.anyCharacter)
            default: tokens.append(.byte(byte))
            }
        }
        guard !escaped else { return nil }
        self.text = text
        self.tokens = tokens
    }

    /// Whether the whole of `name` matches.
    public func matches(_ name: String) -> Bool {
        var copy = name
        return copy.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// Whether the whole of `name` (UTF-8 bytes) matches. A `*` that fails to extend backtracks,
    /// one character at a time, to the latest `*` only: the classic linear-space wildcard match.
    public func matches(_ name: UnsafeRawBufferPointer) -> Bool {
        var position = 0
        var token = 0
        var resume: (token: Int, position: Int)?
        while position < name.count {
            if token < tokens.count {
                switch tokens[token] {
                case .anyRun:
                    resume = (token + 1, position)
                    token += 1
                    continue
                case .anyCharacter:
                    position = min(name.count, position + GlobPattern.characterLength(leading: name[position]))
                    token += 1
                    continue
                case .byte(let byte) where byte == name[position]:
                    position += 1
                    token += 1
                    continue
                case .byte:
                    break
                }
            }
            guard let (starNext, starPosition) = resume else { return false }
            let next = min(name.count, starPosition + GlobPattern.characterLength(leading: name[starPosition]))
            resume = (starNext, next)
            token = starNext
            position = next
        }
        while token < tokens.count && tokens[token] == .anyRun { token += 1 }
        return token == tokens.count
    }

    /// How many bytes the UTF-8 character starting with `byte` takes (1 for a stray byte).
    private static func characterLength(leading byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }

    public var description: String { text }
}
