/// Names (byte strings) packed end to end and numbered in the order added, with a `SlotTable`
/// that finds a name's number without building a string, and the set of name lengths, which
/// turns most absent names away before any hashing. Sets and maps of a hundred thousand tensor
/// names cost a few large arrays instead of a string and a dictionary entry each.
public struct NameTable: Sendable {
    // Inlinable lookups, with the storage visible to them: the namespace asks about every
    // dot-separated prefix of every tensor name, and most answers are "no" at the first step.
    @usableFromInline var bytes: [UInt8] = []
    /// Where each name starts in `bytes`, plus the end of the last.
    @usableFromInline var starts: [Int] = [0]
    @usableFromInline var table: SlotTable
    /// Bit `n` is set when some name is `n` bytes long (or longer than the set covers).
    @usableFromInline var lengths = [UInt64](repeating: 0, count: NameTable.trackedLengths / 64)
    @usableFromInline static let trackedLengths = 1024

    /// An empty table with room for `count` names of `byteCount` bytes in all before it grows.
    public init(minimumCapacity count: Int = 0, byteCount: Int = 0) {
        table = SlotTable(minimumCapacity: count)
        starts.reserveCapacity(count + 1)
        bytes.reserveCapacity(byteCount)
    }

    /// How many names the table holds.
    public var count: Int { starts.count - 1 }

    /// Adds `name` unless the table holds it; returns whether it was added, and its number.
    public mutating func insert(_ name: UnsafeRawBufferPointer) -> (inserted: Bool, number: Int) {
        let hash = NameHasher.hash(name)
        if mayHold(length: name.count), let existing = number(of: name, hash: hash) { return (false, existing) }
        let number = count
        bytes.append(bytes: name)
        starts.append(bytes.count)
        table.insert(number, hash: hash)
        let length = min(name.count, NameTable.trackedLengths - 1)
        lengths[length / 64] |= 1 << (length % 64)
        return (true, number)
    }

    /// Adds `name` unless the table holds it; returns whether it was added, and its number.
    public mutating func insert(_ name: String) -> (inserted: Bool, number: Int) {
        var name = name
        return name.withUTF8 { insert(UnsafeRawBufferPointer($0)) }
    }

    /// The number of `name`, if the table holds it.
    @inlinable
    public func number(of name: UnsafeRawBufferPointer) -> Int? {
        guard mayHold(length: name.count) else { return nil }
        return number(of: name, hash: NameHasher.hash(name))
    }

    /// The number of `name`, if the table holds it.
    public func number(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { number(of: UnsafeRawBufferPointer($0)) }
    }

    /// Whether the table holds `name`.
    @inlinable
    public func contains(_ name: UnsafeRawBufferPointer) -> Bool {
        number(of: name) != nil
    }

    /// Name `number` as a string.
    public func name(_ number: Int) -> String {
        bytes.withUnsafeBytes { String(decoding: NameTable.name(number, in: $0, starts: starts), as: UTF8.self) }
    }

    @inlinable
    func number(of name: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        table.first(hash: hash) { number in
            bytes.withUnsafeBytes { NameTable.name(number, in: $0, starts: starts).hasSameBytes(as: name) }
        }
    }

    @inlinable
    func mayHold(length: Int) -> Bool {
        let length = min(length, NameTable.trackedLengths - 1)
        return lengths[length / 64] & (1 << (length % 64)) != 0
    }

    @inlinable
    static func name(_ number: Int, in packed: UnsafeRawBufferPointer, starts: [Int]) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: packed[starts[number]..<starts[number + 1]])
    }
}
