import Foundation
import SafetensorsFormat
@testable import TensorFS

/// A safetensors file in a temporary directory, its tensors' bytes a fixed pseudo-random
/// pattern where no data is given, loaded as tensorfs loads models: the file alone, or, with a
/// `config` (written as `config.json` beside it), the directory as the SOURCE.
struct TestModel {
    let directory: ModelDirectory
    let model: LogicalModel
    /// Each tensor's bytes, by name.
    let bytes: [String: [UInt8]]

    init(_ tensors: [CraftedTensor], metadata: [String: String] = ["format": "pt"], config: String? = nil) throws {
        directory = try ModelDirectory()
        var generator = SplitMix(seed: 7)
        let written = tensors.map { tensor in
            WrittenTensor(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape,
                          data: tensor.data ?? (0..<tensor.byteCount).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        bytes = Dictionary(uniqueKeysWithValues: written.map { ($0.name, $0.data) })
        try directory.write("model.safetensors", bytes: safetensorsFile(written, metadata: metadata.isEmpty ? nil : metadata.map { ($0.key, $0.value) }))
        if let config { try directory.write("config.json", text: config) }
        model = try ModelLoader().loadMerged([config == nil ? directory.location("model.safetensors") : directory.path])
    }

    /// The model file's path.
    var path: String { directory.location("model.safetensors") }
}

/// A small deterministic generator.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The bytes of indices `start..<start+length` along `dimension` of a row-major tensor, found
/// element by element at the bit level: a reference independent of the runs tensorfs reads.
func referenceSlice(of bytes: [UInt8], bits: Int, shape: [UInt64], dimension: Int, start: UInt64, length: UInt64) -> [UInt8] {
    var sliceShape = shape
    sliceShape[dimension] = length
    let count = Int(sliceShape.reduce(1, *))
    var output = [UInt8](repeating: 0, count: (count * bits + 7) / 8)
    var index = [UInt64](repeating: 0, count: shape.count)
    for element in 0..<count {
        var global = 0
        for axis in shape.indices {
            let coordinate = axis == dimension ? index[axis] + start : index[axis]
            global = global * Int(shape[axis]) + Int(coordinate)
        }
        for bit in 0..<bits {
            let from = global * bits + bit
            if bytes[from / 8] >> (from % 8) & 1 == 1 {
                let to = element * bits + bit
                output[to / 8] |= 1 << (to % 8)
            }
        }
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < sliceShape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
    return output
}

extension TensorFileSystem {
    /// The whole file at `path`, read in requests of `chunk` bytes.
    func contents(of path: String, chunk: Int = 1 << 20) throws -> [UInt8] {
        guard let inode = namespace.resolve(path) else { throw MissingPath(path: path) }
        let opened = open(inode)
        let size = attributes(of: inode)!.size
        var bytes: [UInt8] = []
        while UInt64(bytes.count) < size {
            let before = bytes.count
            try withContents(of: inode, opened: opened, offset: UInt64(bytes.count), count: chunk) { pieces in
                for piece in pieces { bytes += piece }
            }
            if bytes.count == before { break }
        }
        return bytes
    }
}

/// A path that the namespace does not hold.
struct MissingPath: Error {
    var path: String
}
