import SafetensorsFormat

/// A floating-point format of at most 8 bits as tensors store it: what each of its codes is as
/// a float32. Every value of such a format is a float32, so widening one is exact: a lookup in
/// a table of its codes.
struct MinifloatFormat: Sendable {
    /// How the format spends codes beyond finite numbers.
    enum Encoding: Sendable {
        /// As IEEE 754: the highest exponent holds the infinities (mantissa 0) and the NaNs.
        case ieee
        /// "fn": no infinities; a code with every exponent and mantissa bit set is NaN.
        case finiteAndNaN
        /// "fnuz": no infinities and no negative zero; the negative-zero code is the only NaN.
        case finiteAndNaNAtNegativeZero
        /// Finite values only.
        case finite
    }

    let exponentBits: Int
    let mantissaBits: Int
    let bias: Int
    let isSigned: Bool
    let encoding: Encoding
    /// Whether the lowest exponent holds subnormals (E8M0's does not: each code is a power of two).
    var hasSubnormals = true

    /// F8_E4M3 (`float8_e4m3fn`): largest 448.
    static let e4m3fn = MinifloatFormat(exponentBits: 4, mantissaBits: 3, bias: 7, isSigned: true, encoding: .finiteAndNaN)
    /// F8_E5M2 (`float8_e5m2`): largest 57344, with infinities.
    static let e5m2 = MinifloatFormat(exponentBits: 5, mantissaBits: 2, bias: 15, isSigned: true, encoding: .ieee)
    /// F8_E4M3FNUZ (`float8_e4m3fnuz`): largest 240.
    static let e4m3fnuz = MinifloatFormat(exponentBits: 4, mantissaBits: 3, bias: 8, isSigned: true, encoding: .finiteAndNaNAtNegativeZero)
    /// F8_E5M2FNUZ (`float8_e5m2fnuz`): largest 57344.
    static let e5m2fnuz = MinifloatFormat(exponentBits: 5, mantissaBits: 2, bias: 16, isSigned: true, encoding: .finiteAndNaNAtNegativeZero)
    /// F8_E8M0 (`float8_e8m0fnu`): the powers of two 2^-127...2^127, and NaN.
    static let e8m0 = MinifloatFormat(exponentBits: 8, mantissaBits: 0, bias: 127, isSigned: false, encoding: .finiteAndNaN, hasSubnormals: false)
    /// F4 (`float4_e2m1fn`): ±0, 0.5, 1, 1.5, 2, 3, 4, 6.
    static let e2m1 = MinifloatFormat(exponentBits: 2, mantissaBits: 1, bias: 1, isSigned: true, encoding: .finite)

    /// How many codes the format has.
    var codeCount: Int { 1 << ((isSigned ? 1 : 0) + exponentBits + mantissaBits) }

    /// The float32 bits of `code`. A NaN becomes float32's quiet NaN with the code's sign, as
    /// ml_dtypes widens it.
    func float32Bits(of code: UInt32) -> UInt32 {
        let mantissaMask: UInt32 = (1 << mantissaBits) - 1
        let highestExponent: UInt32 = (1 << exponentBits) - 1
        let mantissa = code & mantissaMask
        let exponent = (code >> mantissaBits) & highestExponent
        let isNegative = isSigned && (code >> (exponentBits + mantissaBits)) & 1 == 1
        let sign: UInt32 = isNegative ? 0x8000_0000 : 0
        switch encoding {
        case .ieee where exponent == highestExponent:
            return sign | (mantissa == 0 ? 0x7F80_0000 : 0x7FC0_0000)
        case .finiteAndNaN where exponent == highestExponent && mantissa == mantissaMask,
             .finiteAndNaNAtNegativeZero where isNegative && exponent == 0 && mantissa == 0:
            return sign | 0x7FC0_0000
        default:
            break
        }
        let magnitude: Float = exponent == 0 && hasSubnormals
            ? Float(mantissa) * Float(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1)
            : Float(sign: .plus, exponent: Int(exponent) - bias, significand: 1 + Float(mantissa) / Float(1 << mantissaBits))
        return sign | magnitude.bitPattern
    }

    /// The float32 bits of every code, in code order.
    func table() -> [UInt32] {
        (0..<UInt32(codeCount)).map(float32Bits(of:))
    }
}
