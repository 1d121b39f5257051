import SafetensorsFormat
@testable import TensorFS

/// One tensor of a safetensors file written by a test: its name, dtype, shape and bytes.
struct WrittenTensor {
    var name: String
    var dtype: DType
    var shape: [UInt64]
    var data: [UInt8]
}

/// The bytes of a safetensors file holding `tensors` in the order given, as writers lay it
/// out: the 8-byte length, the header (`__metadata__` first when given) padded with spaces to a
/// multiple of 8, then the data.
func safetensorsFile(_ tensors: [WrittenTensor], metadata: [(String, String)]? = nil) -> [UInt8] {
    var writer = JSONWriter()
    writer.raw("{")
    var first = true
    if let metadata {
        writer.raw("\"__metadata__\":{")
        for (position, (key, value)) in metadata.enumerated() {
            if position > 0 { writer.raw(",") }
            writer.string(key)
            writer.raw(":")
            writer.string(value)
        }
        writer.raw("}")
        first = false
    }
    var data: [UInt8] = []
    for tensor in tensors {
        if !first { writer.raw(",") }
        first = false
        writer.string(tensor.name)
        writer.raw(":{\"dtype\":\"\(tensor.dtype.name)\",\"shape\":")
        writer.numbers(tensor.shape)
        writer.raw(",\"data_offsets\":[\(data.count),\(data.count + tensor.data.count)]}")
        data += tensor.data
    }
    writer.raw("}")
    var header = writer.bytes
    header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
    return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + data
}
