import ByteSources

/// A least-recently-used cache bounded by the total cost (bytes) of what it holds. Not
/// thread-safe by itself: keep it behind a lock.
struct ByteBudgetLRU<Key: Hashable, Value> {
    /// The most total cost held at once.
    let budget: Int
    private var recency = RecencyList<Key>()
    private var values: [Key: Value] = [:]

    /// An empty cache that holds at most `budget` in total cost.
    init(budget: Int) {
        self.budget = budget
    }

    /// The total cost held now.
    var cost: Int { Int(recency.totalWeight) }

    /// How many values are held.
    var count: Int { values.count }

    /// The value for `key`, which becomes the most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let value = values[key] else { return nil }
        recency.touch(key)
        return value
    }

    /// Keeps `value` as the most recently used, evicting the least recently used values until
    /// the total fits the budget. A value costing more than the whole budget is not kept.
    mutating func insert(_ value: Value, for key: Key, cost valueCost: Int) {
        if values.removeValue(forKey: key) != nil { recency.remove(key) }
        guard valueCost <= budget else { return }
        for victim in recency.evict(downTo: UInt64(budget - valueCost)) { values[victim] = nil }
        values[key] = value
        recency.touch(key, weight: UInt64(valueCost))
    }
}
