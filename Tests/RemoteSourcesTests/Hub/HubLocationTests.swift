@testable import RemoteSources
import Testing

@Suite struct HubLocationTests {
    @Test func aLocationSplitsAsHuggingFaceHubsFileSystemSplitsIt() throws {
        let plain = try HubLocation(parsing: "hf://sentence-transformers/all-MiniLM-L6-v2")
        #expect(plain.repository == HubRepository(organization: "sentence-transformers", name: "all-MiniLM-L6-v2"))
        #expect(plain.revision == nil && plain.path == "" && plain.effectiveRevision == "main")
        let full = try HubLocation(parsing: "hf://models/org/name@v1.0/onnx/model.safetensors")
        #expect(full.repository.id == "org/name" && full.revision == "v1.0" && full.path == "onnx/model.safetensors")
        #expect(try HubLocation(parsing: "hf://org/name/sub/").path == "sub")
    }

    @Test func aRevisionWithSlashesIsPercentEncodedOrASpecialReference() throws {
        #expect(try HubLocation(parsing: "hf://org/name@feature%2Fx/sub").revision == "feature/x")
        let pr = try HubLocation(parsing: "hf://org/name@refs/pr/12/sub")
        #expect(pr.revision == "refs/pr/12" && pr.path == "sub")
        #expect(try HubLocation(parsing: "hf://org/name@refs/convert/parquet").revision == "refs/convert/parquet")
        #expect(pr.text == "hf://org/name@refs%2Fpr%2F12/sub")
        #expect(try HubLocation(parsing: pr.text) == pr)
    }

    @Test func anAtSignPastTheRepositoryBelongsToThePath() throws {
        let location = try HubLocation(parsing: "hf://org/name/dir/file@2.json")
        #expect(location.revision == nil && location.path == "dir/file@2.json")
    }

    @Test func siblingsStayInsideTheRepository() throws {
        let index = try HubLocation(parsing: "hf://org/name@main/sub/model.safetensors.index.json")
        #expect(index.sibling("model-1.safetensors").text == "hf://org/name@main/sub/model-1.safetensors")
        #expect(index.sibling("../../../x.safetensors").text == "hf://org/name@main/x.safetensors")
    }

    @Test func badLocationsAreRefusedWithAReason() {
        for text in ["hf://", "hf://gpt2", "hf://org/na--me", "hf://org/-name", "hf://o rg/name", "hf://org/name@", "hf://org/name@%zz",
                     "hf://org/name/../x", "hf://datasets/org/name", "hf://spaces/org/app", "s3://org/name"] {
            #expect(throws: RemoteURL.ParseError.self, "\(text)") { try HubLocation(parsing: text) }
        }
    }
}
