/// serde_json's range check for a number it holds as a double, reproduced step by step.
///
/// serde_json, built without `float_roundtrip` as in the reference reader, keeps the leading
/// digits that fit in a `UInt64`, turns the rest into a power of ten, and multiplies by a table
/// entry; it refuses the number when the product is infinite. That is not a correctly rounded
/// parse: it refuses `1.7976931348623158e308`, which `Double(_:)` reads as the largest finite
/// double, so the boundary has to be computed its way.
enum SerdeNumber {
    /// `1e0` through `1e308`, each the nearest double, like serde_json's `POW10` table.
    private static let powersOfTen: [Double] = (0...308).map { Double("1e\($0)")! }

    /// Whether serde_json refuses `literal` (a number already checked against the JSON grammar)
    /// as out of range. Integers that fit in 64 bits never are.
    static func isOutOfRange(_ literal: UnsafeRawBufferPointer) -> Bool {
        var index = literal.first == UInt8(ascii: "-") ? 1 : 0
        var significand: UInt64 = 0
        var exponent: Int32 = 0
        var isFloat = false

        // Integer part: once the significand is full, each further digit only scales it.
        // (The exponent counters wrap, as in serde_json, rather than trap on gigabyte numbers.)
        while index < literal.count, let digit = digitValue(literal[index]) {
            if isFloat || !append(digit, to: &significand) {
                isFloat = true
                exponent &+= 1
            }
            index += 1
        }
        // Fraction: digits join the significand until it is full; the rest are dropped.
        if index < literal.count, literal[index] == UInt8(ascii: ".") {
            isFloat = true
            index += 1
            var dropping = false
            while index < literal.count, let digit = digitValue(literal[index]) {
                if !dropping {
                    if append(digit, to: &significand) { exponent &-= 1 } else { dropping = true }
                }
                index += 1
            }
        }
        if index < literal.count, literal[index] == UInt8(ascii: "e") || literal[index] == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            var positive = true
            if literal[index] == UInt8(ascii: "+") || literal[index] == UInt8(ascii: "-") {
                positive = literal[index] == UInt8(ascii: "+")
                index += 1
            }
            var written: Int32 = 0
            while index < literal.count, let digit = digitValue(literal[index]) {
                let (times10, o1) = written.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int32(digit))
                // An exponent beyond 32 bits: infinity unless the value is zero or shrinks.
                if o1 || o2 { return positive && significand != 0 }
                written = sum
                index += 1
            }
            exponent = positive ? saturatingSum(exponent, written) : saturatingSum(exponent, -written)
        }
        guard isFloat else { return false }

        // serde_json's `f64_from_parts`: dividing never overflows, and beyond the table a
        // positive exponent is refused unless the significand is zero.
        guard exponent >= 0 else { return false }
        guard exponent < Int32(powersOfTen.count) else { return significand != 0 }
        return (Double(significand) * powersOfTen[Int(exponent)]).isInfinite
    }

    private static func digitValue(_ byte: UInt8) -> UInt64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? UInt64(byte - UInt8(ascii: "0")) : nil
    }

    /// Appends a decimal digit to `significand`, or returns false if that would overflow.
    private static func append(_ digit: UInt64, to significand: inout UInt64) -> Bool {
        let (times10, o1) = significand.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(digit)
        if o1 || o2 { return false }
        significand = sum
        return true
    }

    private static func saturatingSum(_ a: Int32, _ b: Int32) -> Int32 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? .max : .min
    }
}
