@testable import ByteSources
import ByteSources
import Testing

@Suite struct RecencyListTests {
    @Test func theLeastRecentlyTouchedKeyComesFirstAndWeightsAddUp() {
        var list = RecencyList<String>()
        list.touch("a", weight: 1)
        list.touch("b", weight: 2)
        list.touch("c", weight: 4)
        #expect(list.totalWeight == 7)
        #expect(list.leastRecent() == "a")
        list.touch("a")
        #expect(list.leastRecent() == "b")
        #expect(list.leastRecent(excluding: "b") == "c")
        #expect(list.remove("b") == 2)
        #expect(list.totalWeight == 5)
        #expect(list.leastRecent() == "c")
        list.touch("c", weight: 10)
        #expect(list.totalWeight == 11)
        #expect(list.leastRecent() == "a")
        #expect(list.count == 2)
    }

    @Test func removedSlotsAreReused() {
        var list = RecencyList<Int>()
        for round in 0..<100 {
            list.touch(round, weight: 1)
            if round >= 3 { list.remove(round - 3) }
        }
        #expect(list.count == 3)
        #expect(list.leastRecent() == 97)
        #expect(list.remove(12345) == nil)
    }

    @Test func evictionTakesTheOldestOtherKeysUntilTheBudgetHolds() {
        var list = RecencyList<String>()
        for (key, weight) in [("a", 4), ("b", 4), ("c", 4), ("d", 4)] { list.touch(key, weight: UInt64(weight)) }
        list.touch("a")
        #expect(list.evict(downTo: 9, keeping: "b") == ["c", "d"])
        #expect(list.totalWeight == 8)
        #expect(list.evict(downTo: 0, keeping: "a") == ["b"])
        #expect(list.evict(downTo: 4) == [])
        #expect(list.count == 1)
    }
}
