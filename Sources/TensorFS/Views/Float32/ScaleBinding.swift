import ByteSources
import SafetensorsFormat

/// The scale tensor that dequantizes a tensor, and how it covers it.
struct ScaleBinding: Sendable {
    /// The scale tensor (F32, BF16 or F16).
    let tensor: ModelTensor
    /// Where its bytes are.
    let source: any ByteSource
    /// Which scale each element takes.
    let grid: ScaleGrid

    /// The dtypes a scale may have: each widens to float32 exactly.
    static let dtypes: [DType] = [.f32, .bf16, .f16]

    /// Copies scales `range` out of the source, as float32s, into `output`.
    func read(_ range: Range<UInt64>, into output: UnsafeMutableBufferPointer<Float>) throws(ByteSourceError) {
        guard !range.isEmpty else { return }
        let width = UInt64(tensor.info.dtype.bitsPerElement / 8)
        let bytes = ByteRange(start: tensor.fileRange.start + range.lowerBound * width, end: tensor.fileRange.start + range.upperBound * width)
        guard tensor.info.dtype != .f32 else {
            return try source.copyBytes(in: bytes, into: UnsafeMutableRawBufferPointer(output))
        }
        try withUnsafeTemporaryAllocation(byteCount: Int(bytes.count), alignment: 16) { (scratch) throws(ByteSourceError) in
            try source.copyBytes(in: bytes, into: scratch)
            Float32Widening.widen(tensor.info.dtype, from: UnsafeRawPointer(scratch.baseAddress!), count: output.count, into: UnsafeMutableRawPointer(output.baseAddress!))
        }
    }
}
