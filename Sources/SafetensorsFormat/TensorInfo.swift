/// One tensor as a safetensors header describes it.
public struct TensorInfo: Hashable, Sendable {
    /// The tensor's name: any string, exactly as written in the header.
    public var name: String
    /// The element type.
    public var dtype: DType
    /// The extent of each dimension, outermost first; empty for a scalar.
    public var shape: [UInt64]
    /// Where the tensor's bytes lie, relative to the start of the data buffer.
    public var dataOffsets: ByteRange

    /// Creates a descriptor.
    public init(name: String, dtype: DType, shape: [UInt64], dataOffsets: ByteRange) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// The number of elements (the product of the shape), or nil if it overflows 64 bits.
    public var elementCount: UInt64? {
        var product: UInt64 = 1
        for extent in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// The byte length that the dtype and shape imply, or nil if it overflows or is not whole.
    public var impliedByteCount: UInt64? {
        guard let elements = elementCount else { return nil }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: UInt64(dtype.bitsPerElement))
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }

    /// The number of bytes the tensor occupies.
    public var byteCount: UInt64 { dataOffsets.count }
}
