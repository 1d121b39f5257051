/// An open-addressed hash table of numbers whose keys live elsewhere (names in another array).
///
/// Each slot holds a number and the low 32 bits of its key's hash, which pick its slot and
/// also serve as a tag: a probe looks at a key itself, likely out of cache, only when the tags
/// agree. The table stays at most half full, and holds numbers below 2^32 - 1.
public struct SlotTable: Sendable {
    /// The hash's low 32 bits in the high half, number + 1 in the low half; 0 is empty.
    @usableFromInline var slots: [UInt64]
    /// How many numbers the table holds.
    public private(set) var count = 0

    /// A table with room for `count` numbers before it grows.
    public init(minimumCapacity count: Int = 0) {
        slots = [UInt64](repeating: 0, count: SlotTable.size(for: count))
    }

    /// The number under `hash` whose key `isKey` confirms, if any.
    @inlinable
    public func first(hash: UInt64, where isKey: (Int) -> Bool) -> Int? {
        let tag = UInt64(UInt32(truncatingIfNeeded: hash))
        let mask = slots.count - 1
        var slot = Int(tag) & mask
        while slots[slot] != 0 {
            if slots[slot] >> 32 == tag {
                let number = Int(slots[slot] & 0xFFFF_FFFF) - 1
                if isKey(number) { return number }
            }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Adds `number` under `hash`; the caller has made sure its key is not there yet.
    public mutating func insert(_ number: Int, hash: UInt64) {
        if (count + 1) * 2 > slots.count { reserveCapacity(count + 1) }
        SlotTable.place(UInt64(UInt32(truncatingIfNeeded: hash)) << 32 | UInt64(number + 1), in: &slots)
        count += 1
    }

    /// Makes room for `count` numbers in all.
    public mutating func reserveCapacity(_ count: Int) {
        let size = SlotTable.size(for: count)
        guard size > slots.count else { return }
        var grown = [UInt64](repeating: 0, count: size)
        for entry in slots where entry != 0 { SlotTable.place(entry, in: &grown) }
        slots = grown
    }

    /// The power of two that holds `count` numbers at most half full.
    private static func size(for count: Int) -> Int {
        var size = 16
        while size < count * 2 { size <<= 1 }
        return size
    }

    private static func place(_ entry: UInt64, in slots: inout [UInt64]) {
        let mask = slots.count - 1
        var slot = Int(entry >> 32) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }
}
