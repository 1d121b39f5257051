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
