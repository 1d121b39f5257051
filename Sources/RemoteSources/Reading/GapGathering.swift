import Synchronization

/// Waits for the requests of one fill, which write into its buffers (the gaps of a part, or the
/// parts of a run): the buffers are released only after all of them ended.
final class GapGathering: Sendable {
    private let state: Mutex<(remaining: Int, failure: FetchFailure?)>
    private let done: @Sendable (FetchFailure?) -> Void

    /// Waits for `count` fetches, then calls `done` with the first failure, if any.
    init(count: Int, done: @escaping @Sendable (FetchFailure?) -> Void) {
        state = Mutex((count, nil))
        self.done = done
    }

    /// Records how one fetch ended.
    func record(_ failure: FetchFailure?) {
        let finished = state.withLock { state -> (Bool, FetchFailure?) in
            state.remaining -= 1
            if state.failure == nil { state.failure = failure }
            return (state.remaining == 0, state.failure)
        }
        if finished.0 { done(finished.1) }
    }
}
