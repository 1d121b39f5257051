/// The bytes S3 bucket names and Hub repository names are made of: ASCII letters and digits,
/// `-`, `_` and `.`.
enum NameBytes {
    /// Whether `byte` may stand in such a name.
    static func contains(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }
}
