/// Writes JSON text into a byte buffer: strings escaped per RFC 8259, numbers exact.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    mutating func raw(_ text: String) {
        bytes += text.utf8
    }

    mutating func raw(_ text: [UInt8]) {
        bytes += text
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        if !value.utf8.contains(where: JSONWriter.needsEscape) {
            bytes += value.utf8
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            guard JSONWriter.needsEscape(byte) else {
                bytes.append(byte)
                continue
            }
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            default:
                let hexDigit = { (value: UInt8) in value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10 }
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0xF))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    mutating func number(_ value: some BinaryInteger) {
        guard var remaining = UInt64(exactly: value) else { return raw(String(value)) }
        // Digits straight into the buffer: headers hold hundreds of thousands of numbers.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            bytes += digits[start...]
        }
    }

    /// `[a, b, c]` on one line.
    mutating func numbers(_ values: some Sequence<UInt64>) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { raw(", ") }
            first = false
            number(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A pretty-printed array, one element per line, each written by `element`.
    mutating func array<Element>(_ elements: [Element], indent: Int, _ element: (inout JSONWriter, Element) -> Void) {
        let padding = String(repeating: " ", count: indent + 2)
        raw("[")
        for (position, item) in elements.enumerated() {
            raw(position == 0 ? "\n" + padding : ",\n" + padding)
            element(&self, item)
        }
        raw(elements.isEmpty ? "]" : "\n" + String(repeating: " ", count: indent) + "]")
    }

    /// Valid JSON text written again in this writer's style: whitespace outside strings
    /// dropped, then each member and element on its own line, nested `indent` deep.
    mutating func reindented(_ json: String, indent: Int) {
        var depth = indent
        var inString = false
        var escaped = false
        var opened = false
        for byte in json.utf8 {
            if inString {
                bytes.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                continue
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 2
                if !opened { raw("\n" + String(repeating: " ", count: depth)) }
                bytes.append(byte)
                opened = false
                continue
            default:
                break
            }
            if opened { raw("\n" + String(repeating: " ", count: depth)) }
            opened = false
            bytes.append(byte)
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 2; opened = true
            case UInt8(ascii: ","): raw("\n" + String(repeating: " ", count: depth))
            case UInt8(ascii: ":"): raw(" ")
            default: break
            }
        }
    }

    /// A pretty-printed object: `fields` writes each member through the `ObjectWriter`.
    mutating func object(indent: Int = 0, _ fields: (inout ObjectWriter) -> Void) {
        raw("{")
        var writer = ObjectWriter(output: self, indent: indent)
        fields(&writer)
        self = writer.output
        if writer.count > 0 { raw("\n" + String(repeating: " ", count: indent)) }
        raw("}")
    }
}

/// Writes the members of one object, each on its own line.
struct ObjectWriter {
    var output: JSONWriter
    let indent: Int
    private(set) var count = 0

    init(output: JSONWriter, indent: Int) {
        self.output = output
        self.indent = indent
    }

    /// Starts member `key`; `value` then writes its value into the writer.
    mutating func member(_ key: String, _ value: (inout JSONWriter) -> Void) {
        output.raw(count == 0 ? "\n" : ",\n")
        output.raw(String(repeating: " ", count: indent + 2))
        output.string(key)
        output.raw(": ")
        value(&output)
        count += 1
    }

    mutating func member(_ key: String, string: String) { member(key) { $0.string(string) } }
    mutating func member(_ key: String, number: some BinaryInteger) { member(key) { $0.number(number) } }

    /// A nested array, indented one level deeper.
    mutating func member<Element>(_ key: String, array elements: [Element], _ element: (inout JSONWriter, Element) -> Void) {
        let depth = indent + 2
        member(key) { $0.array(elements, indent: depth, element) }
    }

    /// A nested object, indented one level deeper.
    mutating func member(_ key: String, object fields: (inout ObjectWriter) -> Void) {
        let depth = indent + 2
        member(key) { $0.object(indent: depth, fields) }
    }
}
