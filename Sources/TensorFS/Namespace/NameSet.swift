import SafetensorsFormat

/// A set of names that answers "is this byte string a name?" without building strings: the
/// names packed end to end, and a `SlotTable` of their numbers keyed by `NameHasher`.
struct NameSet {
    private var bytes: [UInt8] = []
    /// Where each name starts in `bytes`, plus the end of the last.
    private var starts: [Int] = [0]
    private var table: SlotTable

    init(_ names: some Collection<String>) {
        table = SlotTable(minimumCapacity: names.count)
        starts.reserveCapacity(names.count + 1)
        for name in names {
            bytes += name.utf8
            starts.append(bytes.count)
        }
        bytes.withUnsafeBytes { packed in
            for number in 0..<starts.count - 1 {
                table.insert(number, hash: NameHasher.hash(NameSet.name(number, in: packed, starts: starts)))
            }
        }
    }

    /// Whether `candidate` is one of the names.
    func contains(_ candidate: UnsafeRawBufferPointer) -> Bool {
        contains(candidate, hash: NameHasher.hash(candidate))
    }

    /// Whether `candidate`, whose `NameHasher` hash is `hash`, is one of the names.
    func contains(_ candidate: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        bytes.withUnsafeBytes { packed in
            table.first(hash: hash) { number in
                let name = NameSet.name(number, in: packed, starts: starts)
                return name.count == candidate.count && name.elementsEqual(candidate)
            } != nil
        }
    }

    private static func name(_ number: Int, in packed: UnsafeRawBufferPointer, starts: [Int]) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: packed[starts[number]..<starts[number + 1]])
    }
}
