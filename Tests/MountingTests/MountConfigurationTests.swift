import Mounting
import Testing

@Suite struct MountConfigurationTests {
    @Test func theMountIsNamedAfterItsSourcesWithoutTheirSecrets() {
        #expect(MountConfiguration.sourceName(of: ["/models/a.safetensors"]) == "/models/a.safetensors")
        #expect(MountConfiguration.sourceName(of: ["https://u:p@h.example/m.safetensors?sig=1", "s3://b/k"])
            == "https://h.example/m.safetensors,s3://b/k")
    }

    @Test func aVeryLongNameIsCutShort() {
        let name = MountConfiguration.sourceName(of: (0..<100).map { "/models/shard-\($0).safetensors" })
        #expect(name.utf8.count == 1024 && name.hasSuffix("..."))
    }
}
