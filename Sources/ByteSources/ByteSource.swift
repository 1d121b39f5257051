import SafetensorsFormat

/// Where the bytes of one model file come from: a local mapping now, remote objects or a disk
/// cache later. The format, the namespace and the FUSE bridge see only this protocol.
public protocol ByteSource: AnyObject, Sendable {
    /// How the source is shown to users: a path or a URL.
    var displayName: String { get }
    /// The size of the file in bytes.
    var size: UInt64 { get }
    /// When the file was last modified.
    var modificationTime: Timestamp { get }

    /// Copies the bytes of `range` out of the source (for headers and other small reads).
    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8]

    /// Copies the bytes of `range` into `buffer`, which holds exactly `range.count` bytes. Unlike
    /// reading through `withMemory(of:_:)`, this never faults on a source that shrank: it throws.
    func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError)

    /// Copies the bytes of each of `ranges`, in order and end to end, into `buffer`, which holds
    /// exactly their total: a gather of many small ranges, as safe as `copyBytes(in:into:)`.
    func copyBytes(in ranges: [ByteRange], into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError)

    /// Calls `body` with memory holding the bytes of `range`, in order, as one or more pieces.
    /// The memory is valid only until `body` returns; it is never copied on the way.
    func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result

    /// Like `withMemory(of:_:)`, for a read of a file that spans `extent` of the source (`extent`
    /// holds `range`): a remote source fetches and reads ahead within the extent, never beyond it.
    func withMemory<Result>(
        of range: ByteRange,
        within extent: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result

    /// The most pieces `withMemory(of:_:)` passes for `range`.
    func maximumPieceCount(for range: ByteRange) -> Int

    /// Says that the bytes of `range` will be read soon, so that the source can fetch them ahead.
    func prefetch(_ range: ByteRange)
}

extension ByteSource {
    public func withMemory<Result>(
        of range: ByteRange,
        within extent: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try withMemory(of: range, body)
    }

    public func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        let bytes = try copyBytes(in: range)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    /// Asks for every range ahead, then copies them one by one.
    public func copyBytes(in ranges: [ByteRange], into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        for range in ranges { prefetch(range) }
        try copyOneByOne(ranges, into: buffer)
    }

    /// Copies each of `ranges` with `copyBytes(in:into:)`, end to end into `buffer`.
    func copyOneByOne(_ ranges: [ByteRange], into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        var offset = 0
        for range in ranges {
            try copyBytes(in: range, into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + Int(range.count)]))
            offset += Int(range.count)
        }
    }

    public func maximumPieceCount(for range: ByteRange) -> Int { 1 }
    public func prefetch(_ range: ByteRange) {}
}
