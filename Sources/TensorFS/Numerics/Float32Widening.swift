import SafetensorsFormat

/// Widens elements of floating-point dtypes narrower than 32 bits to float32, exactly: every
/// value of those formats is a float32. NaNs come out as numpy and ml_dtypes make them: F16 and
/// BF16 keep their payload, the 8-bit and 4-bit formats give float32's quiet NaN of their sign.
///
/// Packed F4 holds two elements per byte, the first in the low nibble (PyTorch's
/// `float4_e2m1fn_x2`, which safetensors' F4 stands for), counted in row-major order through
/// the whole tensor. F6 has no byte layout that safetensors or a framework defines: it is left out.
enum Float32Widening {
    /// Whether tensors of `dtype` widen to float32 here.
    static func widens(_ dtype: DType) -> Bool {
        switch dtype {
        case .f16, .bf16, .f8E4M3, .f8E5M2, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ, .f4: true
        default: false
        }
    }

    /// Writes `count` elements of `dtype` as float32s into `output` (4-byte aligned). `source`
    /// holds them from the byte of the first; for F4, `startsInHighNibble` says that the first
    /// is the second element of its byte.
    static func widen(
        _ dtype: DType, from source: UnsafeRawPointer, startsInHighNibble: Bool = false,
        count: Int, into output: UnsafeMutableRawPointer
    ) {
        switch dtype {
        case .bf16: widenBFloat16(source, count: count, into: output)
        case .f16: widenHalf(source, count: count, into: output)
        case .f8E4M3: lookUp(source, count: count, in: Tables.e4m3fn, into: output)
        case .f8E5M2: lookUp(source, count: count, in: Tables.e5m2, into: output)
        case .f8E4M3FNUZ: lookUp(source, count: count, in: Tables.e4m3fnuz, into: output)
        case .f8E5M2FNUZ: lookUp(source, count: count, in: Tables.e5m2fnuz, into: output)
        case .f8E8M0: lookUp(source, count: count, in: Tables.e8m0, into: output)
        case .f4: widenPackedE2M1(source, startsInHighNibble: startsInHighNibble, count: count, into: output)
        default: preconditionFailure("\(dtype.name) does not widen to float32")
        }
    }

    /// Each format's table of codes, made once.
    private enum Tables {
        static let e4m3fn = MinifloatFormat.e4m3fn.table()
        static let e5m2 = MinifloatFormat.e5m2.table()
        static let e4m3fnuz = MinifloatFormat.e4m3fnuz.table()
        static let e5m2fnuz = MinifloatFormat.e5m2fnuz.table()
        static let e8m0 = MinifloatFormat.e8m0.table()
        /// Each byte of packed F4 as its two elements' float32 bits, the low nibble's first
        /// (in the low half of the little-endian pair).
        static let e2m1Pairs: [UInt64] = {
            let codes = MinifloatFormat.e2m1.table()
            return (0..<256).map { byte in UInt64(codes[byte & 0xF]) | UInt64(codes[byte >> 4]) << 32 }
        }()
    }

    /// BF16 is the upper half of a float32: each element moves up 16 bits.
    private static func widenBFloat16(_ source: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer) {
        eightAtATime(source, count: count, into: output) { halves in
            SIMD8<UInt32>(truncatingIfNeeded: halves) &<< 16
        }
    }

    /// F16 moves its exponent and mantissa up into place and rebiases the exponent; infinities
    /// and NaNs (payload kept) take the highest exponent; zeros and subnormals are made exact by
    /// one float subtraction (2^-14 x 1.m, less 2^-14, is m x 2^-24).
    private static func widenHalf(_ source: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer) {
        let lowestNormal = Float(bitPattern: 113 << 23)
        eightAtATime(source, count: count, into: output) { halves in
            let bits = SIMD8<UInt32>(truncatingIfNeeded: halves)
            let magnitude = (bits & 0x7FFF) &<< 13
            let exponent = bits & 0x7C00
            var widened = magnitude &+ (112 << 23)
            widened.replace(with: magnitude &+ (224 << 23), where: exponent .== 0x7C00)
            let small = unsafeBitCast(magnitude &+ (113 << 23), to: SIMD8<Float>.self) - lowestNormal
            widened.replace(with: unsafeBitCast(small, to: SIMD8<UInt32>.self), where: exponent .== 0)
            return widened | (bits & 0x8000) &<< 16
        }
    }

    /// Runs `widen` on eight 16-bit elements at a time; on the last few, padded with zeros, once more.
    @inline(__always)
    private static func eightAtATime(
        _ source: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer, _ widen: (SIMD8<UInt16>) -> SIMD8<UInt32>
    ) {
        var index = 0
        while index + 8 <= count {
            let lanes = source.loadUnaligned(fromByteOffset: index * 2, as: SIMD8<UInt16>.self)
            output.storeBytes(of: widen(lanes), toByteOffset: index * 4, as: SIMD8<UInt32>.self)
            index += 8
        }
        guard index < count else { return }
        var lanes = SIMD8<UInt16>()
        withUnsafeMutableBytes(of: &lanes) { $0.copyMemory(from: UnsafeRawBufferPointer(start: source + index * 2, count: (count - index) * 2)) }
        let widened = widen(lanes)
        for lane in 0..<count - index { output.storeBytes(of: widened[lane], toByteOffset: (index + lane) * 4, as: UInt32.self) }
    }

    private static func lookUp(_ source: UnsafeRawPointer, count: Int, in table: [UInt32], into output: UnsafeMutableRawPointer) {
        let codes = source.assumingMemoryBound(to: UInt8.self)
        table.withUnsafeBufferPointer { table in
            for index in 0..<count { output.storeBytes(of: table[Int(codes[index])], toByteOffset: index * 4, as: UInt32.self) }
        }
    }

    private static func widenPackedE2M1(
        _ source: UnsafeRawPointer, startsInHighNibble: Bool, count: Int, into output: UnsafeMutableRawPointer
    ) {
        guard count > 0 else { return }
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        Tables.e2m1Pairs.withUnsafeBufferPointer { pairs in
            var byte = 0
            var written = 0
            if startsInHighNibble {
                output.storeBytes(of: UInt32(truncatingIfNeeded: pairs[Int(bytes[0])] >> 32), as: UInt32.self)
                byte = 1
                written = 1
            }
            while written + 2 <= count {
                output.storeBytes(of: pairs[Int(bytes[byte])], toByteOffset: written * 4, as: UInt64.self)
                byte += 1
                written += 2
            }
            if written < count { output.storeBytes(of: UInt32(truncatingIfNeeded: pairs[Int(bytes[byte])]), toByteOffset: written * 4, as: UInt32.self) }
        }
    }
}
