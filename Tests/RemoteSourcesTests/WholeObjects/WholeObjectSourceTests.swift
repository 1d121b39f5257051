@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Testing

/// A server that ignores byte ranges: the object is fetched whole, once, into memory or the disk
/// cache, and served from there.
@Suite struct WholeObjectSourceTests {
    private let object = patternBytes(300_000)

    private func context(_ transport: ScriptedTransport, cache: TemporaryDirectory? = nil, memory: UInt64 = 1 << 20) throws -> RemoteContext {
        var settings = RemoteSettings(environment: [:])
        settings.partSize = 64 << 10
        settings.randomReadSize = 64 << 10
        settings.memoryBudget = memory
        settings.headerProbeSize = 4096
        settings.cacheDirectory = cache?.path
        return try RemoteContext(settings: settings, log: .disabled, transport: transport)
    }

    private func endpoint() throws -> HTTPObjectEndpoint {
        HTTPObjectEndpoint(url: try RemoteURL(parsing: "http://h.example/m.safetensors"), headers: [])
    }

    private func read(_ source: any ByteSource, _ range: ByteRange) throws -> [UInt8] {
        try source.withMemory(of: range) { pieces in pieces.flatMap { Array($0) } }
    }

    @Test func anObjectWhoseServerIgnoresRangesIsFetchedWholeOnceAndServedFromMemory() throws {
        let transport = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        let context = try context(transport)
        let source = try RemoteObjectSource.open(try endpoint(), context: context)
        #expect(source is WholeObjectSource && source.size == 300_000)
        #expect(try read(source, ByteRange(start: 1000, end: 250_000)) == Array(object[1000..<250_000]))
        #expect(try source.copyBytes(in: ByteRange(start: 299_990, end: 300_000)) == Array(object[299_990...]))
        #expect(transport.sent.count == 2 && transport.sent[1].request.range == nil)
        #expect(context.warnings.count == 1 && context.warnings[0].contains("ignores byte ranges"))
        #expect(context.wholeObjects.memoryAvailable == (1 << 20) - 300_000)
    }

    @Test func anObjectLargerThanTheMemoryLeftFailsAtOnceNamingTheCacheDirectory() throws {
        let transport = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        #expect { try RemoteObjectSource.open(try endpoint(), context: try context(transport, memory: 200_000)) } throws: { error in
            "\(error)".contains("--cache-dir") && "\(error)".contains("300000 bytes")
        }
        #expect(transport.sent.count == 1)
    }

    @Test func aServerThatSendsAFileAnnouncedEmptyOrWithNoMemoryLeftFailsInsteadOfFetching() throws {
        let empty = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        empty.script(ScriptedTransport.Answer(status: 200, headers: ["Content-Length: 0"], body: patternBytes(300_000)))
        #expect { try RemoteObjectSource.open(try endpoint(), context: try context(empty)) } throws: { "\($0)".contains("announced empty") }
        let unsized = ScriptedTransport { _ in ScriptedTransport.Answer(status: 200, body: patternBytes(300_000)) }
        let shared = try context(unsized, memory: 300_000)
        let held = try RemoteObjectSource.open(try endpoint(), context: shared)
        #expect(held.size == 300_000 && shared.wholeObjects.memoryAvailable == 0)
        #expect { try RemoteObjectSource.open(try endpoint(), context: shared) } throws: { "\($0)".contains("--cache-dir") }
    }

    @Test func aBodyCutShortIsFetchedAgainAndAChangedETagIsAChange() throws {
        let transport = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        transport.script(.whole(object))
        transport.script(ScriptedTransport.Answer(status: 200, headers: ["Content-Length: 300000", "ETag: \"v1\""], body: Array(object[..<1000])))
        #expect(try RemoteObjectSource.open(try endpoint(), context: try context(transport)).size == 300_000)
        #expect(transport.sent.count == 3)
        let changing = ScriptedTransport { _ in .whole(patternBytes(300_000), headers: ["ETag: \"v2\""]) }
        changing.script(.whole(object))
        #expect { try RemoteObjectSource.open(try endpoint(), context: try context(changing)) } throws: { "\($0)".contains("changed while mounted") }
    }

    @Test func withACacheDirectoryTheObjectIsKeptOnDiskAndFoundThereByTheNextMount() throws {
        let directory = TemporaryDirectory()
        let transport = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        let first = try RemoteObjectSource.open(try endpoint(), context: try context(transport, cache: directory, memory: 200_000))
        #expect(try read(first, ByteRange(start: 5, end: 299_000)) == Array(object[5..<299_000]))
        let again = ScriptedTransport { _ in .whole(patternBytes(300_000)) }
        let second = try RemoteObjectSource.open(try endpoint(), context: try context(again, cache: directory))
        #expect(try second.copyBytes(in: ByteRange(start: 0, end: 300_000)) == object)
        #expect(again.sent.count == 1, "only the request that finds the server ignoring ranges")
    }
}
