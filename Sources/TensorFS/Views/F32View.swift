import SafetensorsFormat

/// `T.f32.npy` (opt-in): a floating-point tensor narrower than 32 bits (F16, BF16, the F8 family,
/// F4) as a `<f4` NumPy file of the same shape, its values widened exactly and, for FP8 weights
/// with a scale beside them, dequantized (see `DequantizationPlan`). Computed when read.
struct F32View: TensorView {
    var name: String { "f32" }
    var suffix: StaticString { ".f32.npy" }
    var isDefault: Bool { false }

    func shows(_ tensor: TensorInfo) -> Bool {
        Float32Widening.widens(tensor.dtype)
    }

    func generatedBytes(for tensor: PresentedTensor) -> [UInt8]? {
        NpyHeader.bytes(for: TensorInfo(name: tensor.tensor.name, dtype: .f32, shape: tensor.shape,
                                        dataOffsets: ByteRange(start: 0, end: Float32Body.valueCount(of: tensor) * 4)))
    }

    func body(for tensor: PresentedTensor) -> FileContents.Body {
        .segments(Float32Body(tensor, scale: tensor.float32?.scale))
    }

    func sidecarMembers(for tensor: PresentedTensor) -> ((inout ObjectWriter) -> Void)? {
        guard let conversion = tensor.float32 else { return nil }
        return { fields in
            fields.member("suffix", string: suffix.description)
            fields.member("dtype", string: DType.f32.name)
            fields.member("shape") { $0.numbers(tensor.shape) }
            fields.member("nbytes", number: Float32Body.valueCount(of: tensor) * 4)
            guard let scale = conversion.scale else {
                return fields.member("dequantized_with") { $0.raw("null") }
            }
            fields.member("dequantized_with", string: scale.tensor.name)
            fields.member("scale", object: { members in
                members.member("granularity", string: scale.grid.granularity.name)
                if case .block(let size) = scale.grid.granularity {
                    members.member("block_size") { $0.numbers([size.rows, size.columns]) }
                }
                members.member("dtype", string: scale.tensor.info.dtype.name)
                members.member("shape") { $0.numbers(scale.tensor.info.shape) }
            })
        }
    }
}
