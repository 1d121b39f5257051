/// A least-recently-used cache bounded by the total cost (bytes) of what it holds. Not
/// thread-safe by itself: keep it behind a lock.
struct ByteBudgetLRU<Key: Hashable, Value> {
    /// The most total cost held at once.
    let budget: Int
    /// The total cost held now.
    private(set) var cost = 0
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var index: [Key: Int] = [:]
    /// The most recently used slot, and the least.
    private var newest: Int?
    private var oldest: Int?

    private struct Slot {
        var key: Key
        var value: Value?
        var cost: Int
        var newer: Int?
        var older: Int?
    }

    /// An empty cache that holds at most `budget` in total cost.
    init(budget: Int) {
        self.budget = budget
    }

    /// How many values are held.
    var count: Int { index.count }

    /// The value for `key`, which becomes the most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        unlink(slot)
        linkAsNewest(slot)
        return slots[slot].value
    }

    /// Keeps `value` as the most recently used, evicting the least recently used values until
    /// the total fits the budget. A value costing more than the whole budget is not kept.
    mutating func insert(_ value: Value, for key: Key, cost valueCost: Int) {
        if let existing = index.removeValue(forKey: key) { remove(existing) }
        guard valueCost <= budget else { return }
        while cost + valueCost > budget, let victim = oldest {
            index[slots[victim].key] = nil
            remove(victim)
        }
        let slot: Int
        let entry = Slot(key: key, value: value, cost: valueCost, newer: nil, older: nil)
        if let reused = freeSlots.popLast() {
            slots[reused] = entry
            slot = reused
        } else {
            slots.append(entry)
            slot = slots.count - 1
        }
        index[key] = slot
        cost += valueCost
        linkAsNewest(slot)
    }

    private mutating func remove(_ slot: Int) {
        unlink(slot)
        cost -= slots[slot].cost
        slots[slot].value = nil
        freeSlots.append(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if let newer { slots[newer].older = older } else { newest = older }
        if let older { slots[older].newer = newer } else { oldest = newer }
        slots[slot].newer = nil
        slots[slot].older = nil
    }

    private mutating func linkAsNewest(_ slot: Int) {
        slots[slot].older = newest
        if let newest { slots[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }
}
