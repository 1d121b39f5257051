@testable import RemoteSources
import ByteSources
import SafetensorsFormat

/// The object http://h.example/m.safetensors opened over `transport`, with parts of `partSize`,
/// random reads of `randomReadSize`, `memoryBudget` bytes of memory and a 4 KiB header probe;
/// returned with the context it reads through.
func openScriptedObject(over transport: any Transport, partSize: UInt64, randomReadSize: UInt64, memoryBudget: UInt64) throws -> (source: any ByteSource, context: RemoteContext) {
    var settings = RemoteSettings(environment: [:])
    settings.partSize = partSize
    settings.randomReadSize = randomReadSize
    settings.memoryBudget = memoryBudget
    settings.headerProbeSize = 4096
    let context = try RemoteContext(settings: settings, log: .disabled, transport: transport)
    let endpoint = HTTPObjectEndpoint(url: try RemoteURL(parsing: "http://h.example/m.safetensors"), headers: [])
    return (try RemoteObjectSource.open(endpoint, context: context), context)
}

/// The bytes of `range` of `source`, copied into a buffer of ours as a read of the mount copies them.
func copiedBytes(_ source: any ByteSource, _ range: ByteRange) throws(ByteSourceError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Int(range.count))
    let result = bytes.withUnsafeMutableBytes { buffer in
        Result { () throws(ByteSourceError) in try source.copyBytes(in: range, into: buffer) }
    }
    try result.get()
    return bytes
}
