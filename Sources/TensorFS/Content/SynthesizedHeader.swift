import ByteSources
import SafetensorsFormat

/// A safetensors header that tensorfs writes (for a merged model, or a rank's slices): measured
/// first without keeping the text, then written once into the start of a file.
enum SynthesizedHeader {
    /// The header is written in pieces of about this size, so that measuring it costs no more
    /// memory than a piece.
    private static let pieceSize = 64 << 10

    /// The length of the header listing `metadata` then `entries`, padded with spaces so that
    /// data starts 8-byte aligned (the 8-byte length before it not included).
    static func length(metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>) -> UInt64 {
        var textLength: UInt64 = 0
        writeText(metadata: metadata, entries: entries) { textLength += UInt64($0.count) }
        return paddedLength(textLength)
    }

    /// The start of a safetensors file: the 8-byte little-endian `length` (from `length(...)`
    /// with the same arguments), then the header padded with spaces.
    static func fileStart(length: UInt64, metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>) -> GeneratedBytes {
        let prefixLength = Int(SafetensorsHeader.prefixLength)
        return GeneratedBytes(count: prefixLength + Int(length)) { buffer in
            buffer.storeBytes(of: length.littleEndian, as: UInt64.self)
            var end = prefixLength
            writeText(metadata: metadata, entries: entries) { piece in
                precondition(end + piece.count <= buffer.count, "a synthesized header outgrew its measured length")
                UnsafeMutableRawBufferPointer(rebasing: buffer[end..<end + piece.count]).copyMemory(from: piece)
                end += piece.count
            }
            precondition(buffer.count - end < 8, "a synthesized header fell short of its measured length")
            UnsafeMutableRawBufferPointer(rebasing: buffer[end...]).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: " "))
        }
    }

    /// The header length after padding `length` bytes of JSON to a multiple of 8.
    static func paddedLength(_ length: UInt64) -> UInt64 {
        (length + 7) / 8 * 8
    }

    /// Writes a header's JSON (unpadded) in pieces, calling `emit` with each in order:
    /// `__metadata__` first when there is any, then `entries`.
    private static func writeText(metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var writer = JSONWriter()
        func flush(ifLongerThan threshold: Int) {
            guard writer.bytes.count > threshold else { return }
            writer.bytes.withUnsafeBytes(emit)
            writer = JSONWriter()
        }
        writer.raw("{")
        if !metadata.isEmpty {
            writer.string("__metadata__")
            writer.raw(":{")
            for (position, entry) in metadata.enumerated() {
                if position > 0 { writer.raw(",") }
                writer.string(entry.key)
                writer.raw(":")
                writer.string(entry.value)
            }
            writer.raw("}")
        }
        var first = metadata.isEmpty
        for entry in entries {
            if !first { writer.raw(",") }
            first = false
            writer.string(entry.name)
            writer.raw(":{\"dtype\":\"")
            writer.raw(entry.dtype.name)
            writer.raw("\",\"shape\":[")
            for (dimension, extent) in entry.shape.enumerated() {
                if dimension > 0 { writer.raw(",") }
                writer.number(extent)
            }
            writer.raw("],\"data_offsets\":[")
            writer.number(entry.dataOffsets.start)
            writer.raw(",")
            writer.number(entry.dataOffsets.end)
            writer.raw("]}")
            flush(ifLongerThan: pieceSize)
        }
        writer.raw("}")
        flush(ifLongerThan: 0)
    }
}

/// One tensor as a synthesized header lists it.
struct HeaderEntry {
    var name: String
    var dtype: DType
    var shape: [UInt64]
    var dataOffsets: ByteRange
}
