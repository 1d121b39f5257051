extension RandomAccessCollection where Element: Comparable, Index == Int {
    /// In a collection sorted in ascending order, the index of the last element at or below
    /// `value`, found by binary search: among equal elements, the last. The first index when
    /// every element is above `value`; the collection must not be empty.
    func lastIndex(atOrBelow value: Element) -> Int {
        var low = startIndex
        var high = endIndex - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if self[middle] <= value { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
