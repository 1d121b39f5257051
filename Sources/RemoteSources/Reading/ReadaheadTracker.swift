import SafetensorsFormat
import Synchronization

/// Tells sequential reads of an object from random ones and says how far to read ahead, in the
/// manner of mountpoint-s3's prefetcher: a read that follows another continues its stream, whose
/// window grows by what the reader consumes (so it doubles once per window read) up to a
/// maximum that each read brings (it follows what requests cost); a read elsewhere starts a new
/// stream with a small window, so random reads stay small. A stream that starts at the
/// beginning of its extent (a file read from its start: a tensor is read whole almost always)
/// begins with a larger window, so that its first requests go out side by side. Streams are
/// kept per extent (the tensor or data buffer a file spans), so readers of different tensors
/// do not disturb each other, and no window leaves its extent: reading one tensor fetches that
/// tensor only. What a stream has left behind is released: the kernel's page cache holds it now,
/// and the memory is better spent ahead.
final class ReadaheadTracker: Sendable {
    /// How much to read ahead.
    struct Settings: Sendable {
        /// The window of a stream that starts anywhere else.
        var randomWindow: UInt64
        /// How far behind a stream's reads its bytes are released.
        var releaseLag: UInt64
        /// How many streams of one object are followed at once.
        var streamLimit = 8
    }

    /// What the tracker makes of one read.
    struct Decision: Equatable, Sendable {
        /// What to fetch ahead of the read, if anything.
        var ahead: ByteRange?
        /// What the stream has passed since the last read and may be released.
        var passed: ByteRange?
    }

    private struct Stream {
        var extent: ByteRange
        var nextOffset: UInt64
        var window: UInt64
        var lastUse: UInt64
        var released: UInt64
    }

    private struct State {
        var streams: [Stream] = []
        var clock: UInt64 = 0
    }

    private let settings: Settings
    private let state = Mutex(State())

    /// A tracker with `settings`.
    init(settings: Settings) {
        self.settings = settings
    }

    /// Notes a read of `range` within `extent` and decides about reading ahead: a stream from
    /// the extent's start begins with `initialWindow`, and windows grow to `maximumWindow`.
    func observe(_ range: ByteRange, within extent: ByteRange, initialWindow: UInt64, maximumWindow: UInt64) -> Decision {
        state.withLock { state in
            state.clock += 1
            // Threads may deliver one reader's requests slightly out of order: a read within a
            // window of where the stream stands continues it.
            if let index = state.streams.firstIndex(where: { stream in
                stream.extent == extent
                    && range.start + stream.window >= stream.nextOffset
                    && range.start <= stream.nextOffset + stream.window
            }) {
                var stream = state.streams[index]
                let consumed = range.end > stream.nextOffset ? range.end - stream.nextOffset : 0
                stream.nextOffset = max(stream.nextOffset, range.end)
                stream.window = min(stream.window + consumed, maximumWindow)
                stream.lastUse = state.clock
                let releasePoint = max(stream.released, range.start > settings.releaseLag ? range.start - settings.releaseLag : 0)
                let passed = ByteRange(start: stream.released, end: releasePoint)
                stream.released = releasePoint
                state.streams[index] = stream
                return Decision(ahead: window(after: stream.nextOffset, size: stream.window, in: extent), passed: passed.isEmpty ? nil : passed)
            }
            let startsExtent = range.start == extent.start
            let stream = Stream(
                extent: extent, nextOffset: range.end, window: startsExtent ? min(initialWindow, maximumWindow) : settings.randomWindow,
                lastUse: state.clock, released: range.start)
            if state.streams.count < settings.streamLimit {
                state.streams.append(stream)
            } else if let oldest = state.streams.indices.min(by: { state.streams[$0].lastUse < state.streams[$1].lastUse }) {
                state.streams[oldest] = stream
            }
            return Decision(ahead: startsExtent ? window(after: range.end, size: stream.window, in: extent) : nil, passed: nil)
        }
    }

    private func window(after offset: UInt64, size: UInt64, in extent: ByteRange) -> ByteRange? {
        let end = offset.addingReportingOverflow(size)
        return ByteRange(start: offset, end: end.overflow ? extent.end : end.partialValue).clamped(to: extent)
    }
}
