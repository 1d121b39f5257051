import Dispatch

extension Array where Element: Sendable {
    /// The results of `transform` on each element, computed on all cores; the first error wins.
    func parallelMap<T: Sendable, Failure: Error>(
        _ transform: @Sendable (Element) throws(Failure) -> T
    ) throws(Failure) -> [T] {
        if count < 2 { return try map(transform) }
        let results = UnsafeMutableBufferPointer<Result<T, Failure>?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        let elements = self
        // Each iteration writes only its own slot.
        DispatchQueue.concurrentPerform(iterations: count) { index in
            slots[index] = Result { () throws(Failure) -> T in try transform(elements[index]) }
        }
        return try results.map { (slot) throws(Failure) -> T in try slot!.get() }
    }
}
