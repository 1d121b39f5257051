/// XXH64, a fast non-cryptographic 64-bit hash: it checks that cached parts read back as they
/// were written (a torn or corrupted cache file), and names cache entries.
struct XXHash64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var lanes: (UInt64, UInt64, UInt64, UInt64)
    private let seed: UInt64
    private var totalLength: UInt64 = 0
    /// Input not yet consumed, fewer than 32 bytes.
    private var pending: [UInt8] = []

    /// A hash of no bytes so far.
    init(seed: UInt64 = 0) {
        self.seed = seed
        lanes = (seed &+ Self.prime1 &+ Self.prime2, seed &+ Self.prime2, seed, seed &- Self.prime1)
    }

    /// The hash of `bytes` in one call.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var hasher = XXHash64(seed: seed)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The hash of the UTF-8 bytes of `text`.
    static func hash(_ text: String) -> UInt64 {
        var copy = text
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Adds `bytes` to the hash.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        totalLength &+= UInt64(bytes.count)
        var input = bytes
        if !pending.isEmpty {
            let taken = min(32 - pending.count, input.count)
            pending += input[..<taken]
            input = UnsafeRawBufferPointer(rebasing: input[taken...])
            guard pending.count == 32 else { return }
            pending.withUnsafeBytes { consumeStripes($0) }
            pending.removeAll(keepingCapacity: true)
        }
        let whole = input.count / 32 * 32
        if whole > 0 { consumeStripes(UnsafeRawBufferPointer(rebasing: input[..<whole])) }
        pending += input[whole...]
    }

    /// The hash of everything added.
    func finalize() -> UInt64 {
        var hash: UInt64
        if totalLength >= 32 {
            hash = Self.rotate(lanes.0, 1) &+ Self.rotate(lanes.1, 7) &+ Self.rotate(lanes.2, 12) &+ Self.rotate(lanes.3, 18)
            for lane in [lanes.0, lanes.1, lanes.2, lanes.3] {
                hash = (hash ^ Self.round(0, lane)) &* Self.prime1 &+ Self.prime4
            }
        } else {
            hash = seed &+ Self.prime5
        }
        hash &+= totalLength
        pending.withUnsafeBytes { tail in
            var offset = 0
            while offset + 8 <= tail.count {
                hash ^= Self.round(0, tail.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                hash = Self.rotate(hash, 27) &* Self.prime1 &+ Self.prime4
                offset += 8
            }
            if offset + 4 <= tail.count {
                hash ^= UInt64(tail.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian) &* Self.prime1
                hash = Self.rotate(hash, 23) &* Self.prime2 &+ Self.prime3
                offset += 4
            }
            while offset < tail.count {
                hash ^= UInt64(tail[offset]) &* Self.prime5
                hash = Self.rotate(hash, 11) &* Self.prime1
                offset += 1
            }
        }
        hash ^= hash >> 33
        hash &*= Self.prime2
        hash ^= hash >> 29
        hash &*= Self.prime3
        hash ^= hash >> 32
        return hash
    }

    private mutating func consumeStripes(_ stripes: UnsafeRawBufferPointer) {
        var (v1, v2, v3, v4) = lanes
        var offset = 0
        while offset < stripes.count {
            v1 = Self.round(v1, stripes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
            v2 = Self.round(v2, stripes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian)
            v3 = Self.round(v3, stripes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian)
            v4 = Self.round(v4, stripes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self).littleEndian)
            offset += 32
        }
        lanes = (v1, v2, v3, v4)
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotate(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func rotate(_ value: UInt64, _ amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 - amount))
    }
}

extension UInt64 {
    /// Sixteen lowercase hex digits.
    var paddedHex: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
