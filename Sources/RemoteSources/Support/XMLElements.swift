/// Finds the text of simple elements in the small XML documents S3 answers with (listings and
/// errors). It reads only what those documents hold: elements without attributes that matter,
/// character data with the five predefined entities and numeric references, no CDATA.
enum XMLElements {
    /// The contents of every `<name>...</name>` in `document`, in order, entities not decoded.
    static func contents(of name: String, in document: Substring) -> [Substring] {
        let open = "<" + name + ">"
        let close = "</" + name + ">"
        var found: [Substring] = []
        var rest = document
        while let start = rest.firstRange(of: open) {
            let afterOpen = rest[start.upperBound...]
            guard let end = afterOpen.firstRange(of: close) else { break }
            found.append(afterOpen[..<end.lowerBound])
            rest = afterOpen[end.upperBound...]
        }
        return found
    }

    /// The decoded text of the first `<name>` element, if any.
    static func text(of name: String, in document: Substring) -> String? {
        contents(of: name, in: document).first.map(decode)
    }

    /// Character data with its entity and character references replaced.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var output = ""
        var rest = text
        while let ampersand = rest.firstIndex(of: "&") {
            output += rest[..<ampersand]
            let afterAmpersand = rest[rest.index(after: ampersand)...]
            guard let semicolon = afterAmpersand.firstIndex(of: ";") else {
                output += rest[ampersand...]
                return output
            }
            let entity = afterAmpersand[..<semicolon]
            if let replacement = replacement(for: entity) {
                output.unicodeScalars.append(replacement)
            } else {
                output += "&" + entity + ";"
            }
            rest = afterAmpersand[afterAmpersand.index(after: semicolon)...]
        }
        return output + rest
    }

    private static func replacement(for entity: Substring) -> Unicode.Scalar? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            guard entity.hasPrefix("#") else { return nil }
            let number = entity.dropFirst()
            let value = number.hasPrefix("x") || number.hasPrefix("X") ? UInt32(number.dropFirst(), radix: 16) : UInt32(number)
            return value.flatMap(Unicode.Scalar.init)
        }
    }
}
