/// Keys ordered from least to most recently used, each with a weight (its size in bytes):
/// touching, inserting, removing and taking the oldest all cost O(1).
public struct RecencyList<Key: Hashable> {
    private struct Node {
        var key: Key
        var weight: UInt64
        var older: Int?
        var newer: Int?
    }

    private var nodes: [Node] = []
    private var freeSlots: [Int] = []
    private var slots: [Key: Int] = [:]
    private var oldest: Int?
    private var newest: Int?
    /// The sum of the weights of all keys.
    public private(set) var totalWeight: UInt64 = 0

    /// How many keys there are.
    public var count: Int { slots.count }

    /// An empty list.
    public init() {}

    /// Whether `key` is in the list.
    public func contains(_ key: Key) -> Bool { slots[key] != nil }

    /// Makes `key` the most recently used, inserting it (or updating its weight).
    public mutating func touch(_ key: Key, weight: UInt64) {
        if let slot = slots[key] {
            totalWeight = totalWeight - nodes[slot].weight + weight
            nodes[slot].weight = weight
            unlink(slot)
            append(slot)
            return
        }
        let node = Node(key: key, weight: weight, older: nil, newer: nil)
        let slot: Int
        if let free = freeSlots.popLast() {
            nodes[free] = node
            slot = free
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        slots[key] = slot
        totalWeight += weight
        append(slot)
    }

    /// Makes `key` the most recently used if it is in the list.
    public mutating func touch(_ key: Key) {
        guard let slot = slots[key] else { return }
        unlink(slot)
        append(slot)
    }

    /// Removes `key`; returns its weight, or nil when it was not there.
    @discardableResult
    public mutating func remove(_ key: Key) -> UInt64? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        unlink(slot)
        freeSlots.append(slot)
        totalWeight -= nodes[slot].weight
        return nodes[slot].weight
    }

    /// The least recently used key other than `excluded`, without removing it.
    public func leastRecent(excluding excluded: Key? = nil) -> Key? {
        var slot = oldest
        while let current = slot {
            if nodes[current].key != excluded { return nodes[current].key }
            slot = nodes[current].newer
        }
        return nil
    }

    /// Removes the least recently used keys other than `kept` until the total weight is at
    /// most `budget` (or only `kept` is left); returns them, oldest first.
    public mutating func evict(downTo budget: UInt64, keeping kept: Key? = nil) -> [Key] {
        var victims: [Key] = []
        while totalWeight > budget, let victim = leastRecent(excluding: kept) {
            remove(victim)
            victims.append(victim)
        }
        return victims
    }

    private mutating func unlink(_ slot: Int) {
        let (older, newer) = (nodes[slot].older, nodes[slot].newer)
        if let older { nodes[older].newer = newer } else { oldest = newer }
        if let newer { nodes[newer].older = older } else { newest = older }
        nodes[slot].older = nil
        nodes[slot].newer = nil
    }

    private mutating func append(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = nil
        if let newest { nodes[newest].newer = slot } else { oldest = slot }
        newest = slot
    }
}
