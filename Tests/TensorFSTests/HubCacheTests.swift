import ByteSources
import Foundation
import Testing
@testable import TensorFS

/// A local Hugging Face cache: when a snapshot is whole enough to mount without the network, and
/// the loader mounting it for an `hf://` SOURCE before asking the Hub.
@Suite struct HubCacheTests {
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    /// A cache holding the sharded fixture as `org/name` at `commit`, refs/main naming it.
    private func cache() throws -> (fixture: ShardedFixture, cache: String) {
        let fixture = try ShardedFixture()
        let repository = "hub/models--org--name"
        let snapshot = repository + "/snapshots/" + Self.commit
        try FileManager.default.createDirectory(atPath: fixture.directory.location(snapshot), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: fixture.directory.location(repository + "/blobs"), withIntermediateDirectories: true)
        try fixture.directory.write(repository + "/refs/main", text: Self.commit)
        try fixture.directory.write(repository + "/blobs/config", text: "{}")
        try fixture.directory.link(snapshot + "/config.json", to: "../../blobs/config")
        let files = Set(ShardedFixture.tensors.map(\.file) + ["model.safetensors.index.json"]).sorted()
        for (number, file) in files.enumerated() {
            try FileManager.default.moveItem(atPath: fixture.location(file), toPath: fixture.directory.location(repository + "/blobs/\(number)"))
            try fixture.directory.link(snapshot + "/" + file, to: "../../blobs/\(number)")
        }
        return (fixture, fixture.directory.location("hub"))
    }

    private func query(_ cache: String, revision: String? = nil, subfolder: String = "", offline: Bool = false) -> HubCacheQuery {
        HubCacheQuery(cacheDirectory: cache, repositoryFolder: "models--org--name", revision: revision, subfolder: subfolder, offline: offline)
    }

    @Test("a whole snapshot is found by refs/main, by a branch and by its commit hash")
    func wholeSnapshots() throws {
        let (fixture, cache) = try cache()
        let snapshot = cache + "/models--org--name/snapshots/" + Self.commit
        let whole = try HubCache.completeSnapshot(for: query(cache)).get()
        #expect(whole.location == snapshot)
        // What the check found is handed to the planning: the files below, the index read.
        #expect(whole.files == Set(ShardedFixture.tensors.map(\.file) + ["config.json", "model.safetensors.index.json"]).sorted())
        #expect(whole.index?.location == snapshot + "/model.safetensors.index.json")
        #expect(whole.index?.index.shardFiles == Set(ShardedFixture.tensors.map(\.file)).sorted())
        #expect(try HubCache.completeSnapshot(for: query(cache, revision: Self.commit)).get().location == snapshot)
        #expect(try HubCache.completeSnapshot(for: query(cache, subfolder: "config.json")).get().location == snapshot + "/config.json")
        try fixture.directory.write("hub/models--org--name/refs/v1", text: Self.commit + "\n")
        #expect(try HubCache.completeSnapshot(for: query(cache, revision: "v1")).get().location == snapshot)
    }

    @Test("a missing repository, revision, folder, shard or blob makes a snapshot incomplete, saying which")
    func incompleteSnapshots() throws {
        let (fixture, cache) = try cache()
        func shortfall(_ query: HubCacheQuery) -> String {
            if case .failure(let shortfall) = HubCache.completeSnapshot(for: query) { return shortfall.description }
            return "complete"
        }
        #expect(shortfall(HubCacheQuery(cacheDirectory: cache, repositoryFolder: "models--org--other", revision: nil, subfolder: "", offline: false)).contains("holds no models--org--other"))
        #expect(shortfall(query(cache, revision: "v2")).contains("no snapshot of revision `v2`"))
        #expect(shortfall(query(cache, subfolder: "onnx")).contains("no file or folder `onnx`"))
        let snapshot = "hub/models--org--name/snapshots/" + Self.commit
        try FileManager.default.removeItem(atPath: fixture.directory.location("hub/models--org--name/blobs/0"))
        #expect(shortfall(query(cache)).contains("is not whole"))
        try FileManager.default.removeItem(atPath: fixture.directory.location(snapshot + "/model-00001-of-00003.safetensors"))
        #expect(shortfall(query(cache)).contains("lacks the shard `model-00001-of-00003.safetensors`"))
    }

    @Test("an hf:// SOURCE whose snapshot is whole in the cache loads from it, and never asks its locator")
    func loaderMountsTheCachedSnapshot() throws {
        let (fixture, cache) = try cache()
        let loader = ModelLoader(locators: [StubHubLocator(query: query(cache))])
        let model = try loader.loadMerged(["hf://org/name"])
        #expect(model.tensors.count == ShardedFixture.tensors.count && model.name == "org--name")
        #expect(model.companions.map(\.relativePath) == ["config.json"])
        withExtendedLifetime(fixture) {}
    }

    @Test("offline, an hf:// SOURCE missing from the cache fails saying so; online, the locator is asked")
    func offlineAndMissing() throws {
        let (fixture, cache) = try cache()
        defer { withExtendedLifetime(fixture) {} }
        let offline = ModelLoader(locators: [StubHubLocator(query: query(cache, revision: "v9", offline: true))])
        #expect { try offline.loadMerged(["hf://org/name@v9"]) } throws: { error in
            "\(error)" == "hf://org/name@v9: HF_HUB_OFFLINE is set, and the local cache folder \(cache)/models--org--name has no snapshot of revision `v9`"
        }
        let online = ModelLoader(locators: [StubHubLocator(query: query(cache, revision: "v9"))])
        #expect { try online.loadMerged(["hf://org/name@v9"]) } throws: { "\($0)".contains("the network was asked") }
    }

    @Test("--revision is refused for an hf:// SOURCE, which names its revision itself")
    func revisionOption() throws {
        let (fixture, cache) = try cache()
        defer { withExtendedLifetime(fixture) {} }
        let loader = ModelLoader(locators: [StubHubLocator(query: query(cache))], options: LoadOptions(revision: "v1"))
        #expect { try loader.loadMerged(["hf://org/name"]) } throws: { "\($0)".contains("hf://ORG/NAME@REVISION") }
    }
}

/// An `hf://` locator that names a cache query and fails everything else as "the network".
private struct StubHubLocator: SourceLocator {
    let query: HubCacheQuery

    func handles(_ location: String) -> Bool { location.hasPrefix("hf://") }
    func hubCacheQuery(for location: String) throws(ModelError) -> HubCacheQuery? { query }
    func kind(of location: String) throws(ModelError) -> LocationKind { throw .unusableSource(location, reason: "the network was asked") }
    func open(_ location: String, displayName: String) throws(ModelError) -> any ByteSource { throw .unusableSource(location, reason: "the network was asked") }
    func canonical(_ location: String) -> String? { location }
    func sibling(of base: String, relativePath: String) -> String { base + "/" + relativePath }
    var concurrentOpens: Int { 1 }
    func files(below location: String, skipping: Set<String>) throws(ModelError) -> [String] { [] }
}
