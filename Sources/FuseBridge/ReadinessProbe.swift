import ByteSources
import CFuse
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Learns, on a thread of its own, when a new mount answers. A `statfs` of the mountpoint waits
/// in the kernel until the daemon has completed INIT, then travels to the daemon like any other
/// request; if the kernel refused the daemon's INIT reply (say, `-o max_read=` that libfuse
/// does not honour) the `statfs` fails instead. Either way it returns only when the mount has
/// answered or never will.
final class ReadinessProbe: @unchecked Sendable {
    /// What the probe learned.
    enum Outcome: Sendable {
        /// The mount answered a request.
        case answered
        /// The request failed: the mount will not answer.
        case failed(Errno)
        /// The path no longer led to a FUSE filesystem: the session ended before it answered.
        case ended
    }

    private let mountpoint: String
    private let whenAnswered: @Sendable () -> Void
    private var thread = pthread_t()
    private var started = false
    // Written by the probe's thread before it ends; read after joining it.
    private var outcome = Outcome.ended

    /// The magic number `statfs` reports for FUSE filesystems (linux/magic.h).
    private static let fuseSuperMagic = 0x6573_5546

    /// Starts probing `mountpoint`; `whenAnswered` runs on the probe's thread once it answers.
    init(mountpoint: String, whenAnswered: @escaping @Sendable () -> Void) {
        self.mountpoint = mountpoint
        self.whenAnswered = whenAnswered
        // Signals that end the session must reach the thread running libfuse's loop, not this
        // one; a thread starts with its creator's mask, so block them around the creation.
        var blocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let context = Unmanaged.passRetained(self).toOpaque()
        started = pthread_create(&thread, nil, { context in
            let probe = Unmanaged<ReadinessProbe>.fromOpaque(context!).takeRetainedValue()
            probe.run()
            return nil
        }, context) == 0
        if !started {
            Unmanaged<ReadinessProbe>.fromOpaque(context).release()
            outcome = .failed(.current)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Waits for the probe to finish (call once the mount is unmounted, so that a probe still
    /// waiting for INIT gets its answer) and says what it learned.
    func finish() -> Outcome {
        if started { pthread_join(thread, nil) }
        return outcome
    }

    private func run() {
        var type = 0
        do {
            try systemCall { cfuse_filesystem_type(mountpoint, &type) }
        } catch {
            outcome = .failed(error)
            return
        }
        guard type == Self.fuseSuperMagic else {
            outcome = .ended
            return
        }
        outcome = .answered
        whenAnswered()
    }
}
