import Foundation
import SafetensorsFormat
import Testing
@testable import TensorFS

/// Narrow floats widened to float32: every bit pattern, against values computed another way.
@Suite("float32 widening")
struct Float32WideningTests {
    /// The float32 bits `Float32Widening` gives for `count` elements of `dtype` in `bytes`, from
    /// element `first` on.
    static func widened(_ dtype: DType, _ bytes: [UInt8], from first: Int = 0, count: Int? = nil) -> [UInt32] {
        let bits = dtype.bitsPerElement
        let count = count ?? bytes.count * 8 / bits - first
        // Copied to an odd address, so that nothing relies on alignment of the source.
        let shifted = [0] + bytes
        return [UInt32](unsafeUninitializedCapacity: count) { output, initialized in
            shifted.withUnsafeBytes { source in
                Float32Widening.widen(dtype, from: source.baseAddress! + 1 + first * bits / 8, startsInHighNibble: first * bits % 8 != 0,
                                      count: count, into: UnsafeMutableRawPointer(output.baseAddress!))
            }
            initialized = count
        }
    }

    /// Every 16-bit pattern, little-endian.
    static let allHalves: [UInt8] = (0...UInt16.max).flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }

    @Test("every BF16 pattern is the upper half of its float32, NaN payloads and all, whatever the count")
    func bfloat16() {
        let widened = Self.widened(.bf16, Self.allHalves)
        #expect(widened == (0...UInt32(UInt16.max)).map { $0 << 16 })
        for (first, count) in [(0, 1), (3, 7), (5, 9), (65_530, 6), (1, 0)] {
            #expect(Self.widened(.bf16, Self.allHalves, from: first, count: count) == Array(widened[first..<first + count]))
        }
    }

    @Test("every F16 pattern widens to the value Float16 holds; NaNs keep their payload unquieted, as numpy's do")
    func half() {
        let widened = Self.widened(.f16, Self.allHalves)
        for pattern in 0...UInt16.max {
            let half = Float16(bitPattern: pattern)
            let bits = widened[Int(pattern)]
            if half.isNaN {
                #expect(bits == UInt32(pattern & 0x8000) << 16 | 0x7F80_0000 | UInt32(pattern & 0x3FF) << 13, "\(pattern)")
            } else {
                #expect(bits == Float(half).bitPattern, "\(pattern)")
            }
        }
        for (first, count) in [(0, 3), (1, 8), (7, 17), (65_535, 1)] {
            #expect(Self.widened(.f16, Self.allHalves, from: first, count: count) == Array(widened[first..<first + count]))
        }
    }

    /// A format's value for `code`, from its fields by Double arithmetic (nil for NaN):
    /// (-1)^sign x 2^(exponent - bias) x 1.mantissa, or 2^(1 - bias) x 0.mantissa when subnormal.
    static func value(of code: Int, exponentBits: Int, mantissaBits: Int, bias: Int, signed: Bool = true, subnormals: Bool = true) -> Double {
        let mantissa = Double(code & ((1 << mantissaBits) - 1)) / Double(1 << mantissaBits)
        let exponent = (code >> mantissaBits) & ((1 << exponentBits) - 1)
        let sign: Double = signed && code >> (exponentBits + mantissaBits) & 1 == 1 ? -1 : 1
        if exponent == 0 && subnormals { return sign * mantissa * pow(2, Double(1 - bias)) }
        return sign * (1 + mantissa) * pow(2, Double(exponent - bias))
    }

    /// One 8-bit dtype: which codes are NaN or infinite, and its value rule for the rest.
    struct ByteFormat: CustomTestStringConvertible, Sendable {
        var dtype: DType
        var nans: Set<Int>
        var infinities: Set<Int> = []
        var value: @Sendable (Int) -> Double
        var testDescription: String { dtype.name }
    }

    static let byteFormats = [
        ByteFormat(dtype: .f8E4M3, nans: [0x7F, 0xFF]) { value(of: $0, exponentBits: 4, mantissaBits: 3, bias: 7) },
        ByteFormat(dtype: .f8E5M2, nans: [0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF], infinities: [0x7C, 0xFC]) { value(of: $0, exponentBits: 5, mantissaBits: 2, bias: 15) },
        ByteFormat(dtype: .f8E4M3FNUZ, nans: [0x80]) { value(of: $0, exponentBits: 4, mantissaBits: 3, bias: 8) },
        ByteFormat(dtype: .f8E5M2FNUZ, nans: [0x80]) { value(of: $0, exponentBits: 5, mantissaBits: 2, bias: 16) },
        ByteFormat(dtype: .f8E8M0, nans: [0xFF]) { value(of: $0, exponentBits: 8, mantissaBits: 0, bias: 127, signed: false, subnormals: false) },
    ]

    @Test("every code of each 8-bit float widens to the value of its fields; NaNs to float32's quiet NaN of their sign", arguments: byteFormats)
    func byteFormat(format: ByteFormat) {
        let widened = Self.widened(format.dtype, Array(0...UInt8.max))
        for code in 0...255 {
            let bits = widened[code]
            if format.nans.contains(code) {
                #expect(bits == UInt32(code & 0x80 != 0 && format.dtype != .f8E8M0 ? 0xFFC0_0000 : 0x7FC0_0000), "\(code)")
            } else if format.infinities.contains(code) {
                #expect(bits == (code & 0x80 != 0 ? -Float.infinity : Float.infinity).bitPattern, "\(code)")
            } else {
                #expect(bits == Float(format.value(code)).bitPattern, "\(code)")
            }
        }
    }

    @Test("the formats' landmarks: largest values, smallest subnormals, zeros")
    func landmarks() {
        func value(_ dtype: DType, _ code: UInt8) -> Float { Float(bitPattern: Self.widened(dtype, [code])[0]) }
        #expect(value(.f8E4M3, 0x7E) == 448)
        #expect(value(.f8E4M3, 0x01) == 0x1p-9)
        #expect(value(.f8E4M3, 0x80).bitPattern == (-0.0 as Float).bitPattern)
        #expect(value(.f8E5M2, 0x7B) == 57344)
        #expect(value(.f8E5M2, 0x01) == 0x1p-16)
        #expect(value(.f8E4M3FNUZ, 0x7F) == 240)
        #expect(value(.f8E4M3FNUZ, 0x01) == 0x1p-10)
        #expect(value(.f8E5M2FNUZ, 0x7F) == 57344)
        #expect(value(.f8E5M2FNUZ, 0x01) == 0x1p-17)
        #expect(value(.f8E8M0, 0x7F) == 1)
        #expect(value(.f8E8M0, 0x00) == 0x1p-127)
        #expect(value(.f8E8M0, 0xFE) == 0x1p127)
    }

    @Test("packed F4 holds two elements a byte, the first in the low nibble: every byte, from either nibble")
    func packedE2M1() {
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        let nibble = { (code: Int) -> UInt32 in (code & 8 == 0 ? magnitudes[code & 7] : -magnitudes[code & 7]).bitPattern }
        let bytes = Array(0...UInt8.max)
        let expected = bytes.flatMap { [nibble(Int($0) & 0xF), nibble(Int($0) >> 4)] }
        #expect(Self.widened(.f4, bytes) == expected)
        for (first, count) in [(1, 1), (1, 2), (1, 5), (2, 3), (511, 1), (3, 500)] {
            #expect(Self.widened(.f4, bytes, from: first, count: count) == Array(expected[first..<first + count]), "\(first), \(count)")
        }
    }

    @Test("the view shows F16, BF16, the F8 family and F4, and nothing else")
    func dtypesWidened() {
        let widened = DType.allCases.filter(Float32Widening.widens)
        #expect(widened == [.f16, .bf16, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ, .f4])
    }
}
