import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Facts about running work in parallel on this machine.
enum ParallelWork {
    /// The processors this process may run on.
    static let processorCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

extension Array where Element: Sendable {
    /// The results of `transform` on each element, computed by up to `width` threads at once
    /// (all cores by default; more for work that mostly waits); the first error wins.
    func parallelMap<T: Sendable, Failure: Error>(
        width: Int = ParallelWork.processorCount,
        _ transform: @Sendable (Element) throws(Failure) -> T
    ) throws(Failure) -> [T] {
        if count < 2 || width < 2 { return try map(transform) }
        let results = UnsafeMutableBufferPointer<Result<T, Failure>?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        let elements = self
        withoutActuallyEscaping(transform) { transform in
            let work = { @Sendable (index: Int) in
                // Each iteration writes only its own slot.
                slots[index] = Result { () throws(Failure) -> T in try transform(elements[index]) }
            }
            if width <= ParallelWork.processorCount {
                DispatchQueue.concurrentPerform(iterations: elements.count, execute: work)
            } else {
                WaitingWorkers.run(count: elements.count, width: width, work)
            }
        }
        return try results.map { (slot) throws(Failure) -> T in try slot!.get() }
    }
}

/// Runs many iterations that mostly wait (on the network, say) on threads of their own, since
/// Dispatch keeps only about one thread per core busy. Every thread is joined before `run`
/// returns, so `work` never outlives the call.
private enum WaitingWorkers {
    static func run(count: Int, width: Int, _ work: @escaping @Sendable (Int) -> Void) {
        let shared = Shared(count: count, work: work)
        let context = Unmanaged.passRetained(shared).toOpaque()
        var threads: [pthread_t] = []
        for _ in 0..<min(width, count) {
            var thread = pthread_t()
            if pthread_create(&thread, nil, { context in
                Unmanaged<Shared>.fromOpaque(context!).takeUnretainedValue().drain()
                return nil
            }, context) == 0 {
                threads.append(thread)
            }
        }
        // Should no thread start, this one does the work.
        if threads.isEmpty { shared.drain() }
        for thread in threads { pthread_join(thread, nil) }
        Unmanaged<Shared>.fromOpaque(context).release()
    }

    /// The work and the next iteration to hand out.
    final class Shared: Sendable {
        private let count: Int
        private let work: @Sendable (Int) -> Void
        private let next = Atomic<Int>(0)

        init(count: Int, work: @escaping @Sendable (Int) -> Void) {
            self.count = count
            self.work = work
        }

        /// Runs iterations until none are left.
        func drain() {
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                work(index)
            }
        }
    }
}
