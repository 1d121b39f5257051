import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A value that one thread provides and any number of threads wait for.
final class Completion<Value: Sendable>: @unchecked Sendable {
    private var value: Value?
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    /// Creates an unfinished completion.
    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Provides the value and wakes every waiter; later calls are ignored.
    func finish(_ result: Value) {
        pthread_mutex_lock(&mutex)
        if value == nil { value = result }
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Waits for the value.
    func wait() -> Value {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while value == nil { pthread_cond_wait(&condition, &mutex) }
        return value!
    }
}

/// Milliseconds of a clock that never jumps.
enum MonotonicClock {
    static func milliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}

/// Sleeps the calling thread.
func usleepMilliseconds(_ milliseconds: UInt64) {
    var remaining = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var request = remaining
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
