import SafetensorsFormat

/// `T.npy`: the tensor (or the rank's slice) as a NumPy file, its bytes served as `T`'s are.
struct NpyView: TensorView {
    var name: String { "npy" }
    var suffix: StaticString { ".npy" }
    var isDefault: Bool { true }

    func generatedBytes(for tensor: PresentedTensor) -> [UInt8]? {
        NpyHeader.bytes(for: tensor.info)
    }

    func body(for tensor: PresentedTensor) -> FileContents.Body {
        tensor.bytes
    }
}

/// The header of a `T.npy` file (NumPy format 1.0, or 2.0 when the header needs it), padded so
/// that the tensor's bytes, which follow unchanged, start 64-byte aligned.
///
/// Dtypes NumPy lacks keep their exact bytes under an unsigned type of the same width (BF16 as
/// `<u2`, the F8 family as `|u1`), so `ml_dtypes` users view them in one step. Packed sub-byte
/// types (F4, F6) appear as their bytes (`|u1`), with the last dimension scaled to bytes where it
/// divides evenly, else flattened to one dimension.
public enum NpyHeader {
    /// The NumPy type string and shape under which a tensor's bytes are presented.
    public static func presentation(of tensor: TensorInfo) -> (descr: String, shape: [UInt64]) {
        switch tensor.dtype {
        case .bool: return ("|b1", tensor.shape)
        case .u8: return ("|u1", tensor.shape)
        case .i8: return ("|i1", tensor.shape)
        case .i16: return ("<i2", tensor.shape)
        case .u16: return ("<u2", tensor.shape)
        case .i32: return ("<i4", tensor.shape)
        case .u32: return ("<u4", tensor.shape)
        case .i64: return ("<i8", tensor.shape)
        case .u64: return ("<u8", tensor.shape)
        case .f16: return ("<f2", tensor.shape)
        case .bf16: return ("<u2", tensor.shape)
        case .f32: return ("<f4", tensor.shape)
        case .f64: return ("<f8", tensor.shape)
        case .c64: return ("<c8", tensor.shape)
        case .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return ("|u1", tensor.shape)
        case .f4: return ("|u1", packedShape(tensor.shape, elementsPerGroup: 2, bytesPerGroup: 1, byteCount: tensor.byteCount))
        case .f6E2M3, .f6E3M2: return ("|u1", packedShape(tensor.shape, elementsPerGroup: 4, bytesPerGroup: 3, byteCount: tensor.byteCount))
        }
    }

    private static func packedShape(_ shape: [UInt64], elementsPerGroup: UInt64, bytesPerGroup: UInt64, byteCount: UInt64) -> [UInt64] {
        if let last = shape.last, last % elementsPerGroup == 0 {
            return shape.dropLast() + [last / elementsPerGroup * bytesPerGroup]
        }
        return [byteCount]
    }

    /// The header bytes for `tensor`.
    public static func bytes(for tensor: TensorInfo) -> [UInt8] {
        let (descr, shape) = presentation(of: tensor)
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        // Version 1.0 stores the header length in 2 bytes; 2.0, for longer headers, in 4.
        var lengthBytes = 2
        var total = paddedLength(fixed: magic.count + 2 + lengthBytes, dictionary: dictionary)
        if total - (magic.count + 4) > Int(UInt16.max) {
            lengthBytes = 4
            total = paddedLength(fixed: magic.count + 2 + lengthBytes, dictionary: dictionary)
        }
        let fixed = magic.count + 2 + lengthBytes
        var bytes = magic + [lengthBytes == 2 ? 1 : 2, 0]
        withUnsafeBytes(of: UInt32(total - fixed).littleEndian) { bytes += $0.prefix(lengthBytes) }
        bytes += dictionary.utf8
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: total - fixed - dictionary.utf8.count - 1)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// The header's whole length: fixed part, dictionary and a newline, rounded up to 64.
    private static func paddedLength(fixed: Int, dictionary: String) -> Int {
        (fixed + dictionary.utf8.count + 1 + 63) / 64 * 64
    }
}
