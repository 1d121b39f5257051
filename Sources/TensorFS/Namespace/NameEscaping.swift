/// The reversible rule that turns tensor names into path components.
///
/// - `/`, NUL and `%` are written `%2F`, `%00` and `%25`.
/// - A component that would be `.` or `..` is written `%2E` or `%2E%2E`; an empty one is `%`.
/// - A tensor's file whose name, or one of its views' names, would clash with another file
///   beside it (a view `T.json` or `T.npy` of another tensor, a view of such a view like
///   `T.json.json`, `model.safetensors`, `__metadata__.json`, a companion file or a folder
///   holding companions) has every `.` written `%2E`, or its first byte written `%XX` when it
///   has no `.`. A tensor's directory named like a companion file has its first byte written
///   `%XX`.
/// - A component at a model's root spelled `tp-` and digits (the name of a tensor-parallel
///   directory) has its `-` written `%2D`, whether or not tensor-parallel views are mounted.
/// - A component longer than 250 bytes is cut into pieces of at most 250 bytes, never inside an
///   escape or a UTF-8 sequence; every piece but the last becomes a directory whose name ends
///   in `%+`. A last piece that would be `.` or `..` is written `%2E` or `%2E%2E`.
///
/// To get a name back from a path below the model's root: drop a view suffix (`.json`,
/// `.npy`), join the components with `.` except after one ending in `%+` (drop the `%+`, join
/// with nothing), then decode each `%XX` and read a lone `%` as nothing.
public enum NameEscaping {
    /// The longest piece of a component, leaving room for a view suffix or `%+`.
    public static let maximumPieceLength = 250
    /// Ends a directory that continues a cut component.
    public static let continuationMarker: [UInt8] = Array("%+".utf8)

    /// Escapes one component; with `escapingDots`, every `.` is escaped as well, and with
    /// `escapingFirstByte`, the first byte whatever it is.
    public static func escape<Bytes: Collection<UInt8>>(_ component: Bytes, escapingDots: Bool = false, escapingFirstByte: Bool = false) -> [UInt8] {
        if component.isEmpty { return [UInt8(ascii: "%")] }
        if component.elementsEqual(".".utf8) { return Array("%2E".utf8) }
        if component.elementsEqual("..".utf8) { return Array("%2E%2E".utf8) }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(component.count)
        for (position, byte) in component.enumerated() {
            switch byte {
            case 0, UInt8(ascii: "/"), UInt8(ascii: "%"):
                appendEscape(of: byte, to: &escaped)
            case UInt8(ascii: ".") where escapingDots:
                appendEscape(of: byte, to: &escaped)
            case _ where escapingFirstByte && position == 0:
                appendEscape(of: byte, to: &escaped)
            default:
                escaped.append(byte)
            }
        }
        return escaped
    }

    /// Whether `component` comes out of `escape` and `pieces` unchanged, as one piece: the
    /// common case, which needs no copy.
    public static func isPlain(_ component: UnsafeRawBufferPointer, escapingDots: Bool = false) -> Bool {
        guard !component.isEmpty, component.count <= maximumPieceLength else { return false }
        if component.count <= 2 && component.allSatisfy({ $0 == UInt8(ascii: ".") }) { return false }
        for byte in component {
            switch byte {
            case 0, UInt8(ascii: "/"), UInt8(ascii: "%"): return false
            case UInt8(ascii: ".") where escapingDots: return false
            default: continue
            }
        }
        return true
    }

    private static func appendEscape(of byte: UInt8, to output: inout [UInt8]) {
        let digits = Array("0123456789ABCDEF".utf8)
        output.append(UInt8(ascii: "%"))
        output.append(digits[Int(byte >> 4)])
        output.append(digits[Int(byte & 0xF)])
    }

    /// Cuts an escaped component into pieces that fit in a path component: all pieces but the
    /// last carry the continuation marker.
    public static func pieces(of escaped: [UInt8]) -> [[UInt8]] {
        guard escaped.count > maximumPieceLength else { return [escaped] }
        var pieces: [[UInt8]] = []
        var start = 0
        while escaped.count - start > maximumPieceLength {
            var end = start + maximumPieceLength
            // Step back out of a `%XX` escape and off UTF-8 continuation bytes.
            if escaped[end - 1] == UInt8(ascii: "%") { end -= 1 } else if escaped[end - 2] == UInt8(ascii: "%") { end -= 2 }
            while end > start + 1 && escaped[end] & 0xC0 == 0x80 { end -= 1 }
            pieces.append(Array(escaped[start..<end]) + continuationMarker)
            start = end
        }
        let last = escaped[start...]
        // A cut can leave `.` or `..` at the end of a long name: those are not file names.
        let isDotName = last.elementsEqual(".".utf8) || last.elementsEqual("..".utf8)
        pieces.append(isDotName ? escape(last) : Array(last))
        return pieces
    }

    /// The tensor name that a path (components below the model's root, view suffix removed)
    /// stands for; nil when the path is not one this rule produces.
    public static func name(fromComponents components: [String]) -> String? {
        var bytes: [UInt8] = []
        for (position, component) in components.enumerated() {
            var raw = Array(component.utf8)
            let continues = raw.count >= 2 && raw.suffix(2).elementsEqual(continuationMarker)
            if continues { raw.removeLast(2) }
            guard let decoded = unescape(raw) else { return nil }
            bytes += decoded
            if !continues && position < components.count - 1 { bytes.append(UInt8(ascii: ".")) }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; a lone `%` is the empty string.
    static func unescape(_ raw: [UInt8]) -> [UInt8]? {
        if raw == [UInt8(ascii: "%")] { return [] }
        var output: [UInt8] = []
        var index = 0
        while index < raw.count {
            if raw[index] == UInt8(ascii: "%") {
                guard index + 2 < raw.count, let high = hexValue(raw[index + 1]), let low = hexValue(raw[index + 2]) else { return nil }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(raw[index])
                index += 1
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
