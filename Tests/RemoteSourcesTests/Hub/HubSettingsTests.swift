@testable import RemoteSources
import ByteSources
import Testing

@Suite struct HubSettingsTests {
    private func resolve(_ environment: [String: String], files: [String: String] = [:]) throws(HubSettingsError) -> HubSettings {
        try HubSettings.resolve(environment: environment) { (path) throws(SmallFile.Failure) -> [UInt8] in
            guard let text = files[path] else { throw .system(.noSuchFileOrDirectory) }
            return Array(text.utf8)
        }
    }

    @Test func defaultsAreThoseOfHuggingFaceHub() throws {
        let settings = try resolve(["HOME": "/home/u"])
        #expect(settings.endpoint.display == "https://huggingface.co")
        #expect(settings.token == nil && !settings.offline)
        #expect(settings.cacheDirectory == "/home/u/.cache/huggingface/hub")
        #expect(try resolve(["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"]).cacheDirectory == "/xdg/huggingface/hub")
        #expect(try resolve(["HOME": "/home/u", "HF_HOME": "~/hf"]).cacheDirectory == "/home/u/hf/hub")
        #expect(try resolve(["HF_HOME": "/hf", "HF_HUB_CACHE": "/elsewhere"]).cacheDirectory == "/elsewhere")
    }

    @Test func theEndpointLosesItsTrailingSlashAndKeepsItsPath() throws {
        let settings = try resolve(["HF_ENDPOINT": "http://127.0.0.1:8080/mirror/"])
        #expect(settings.url("/api/models/o/n").text == "http://127.0.0.1:8080/mirror/api/models/o/n")
        #expect(throws: HubSettingsError.self) { try resolve(["HF_ENDPOINT": "ftp://x"]) }
    }

    @Test func theTokenComesFromTheVariableThenTheTokenPathThenHFHome() throws {
        let files = ["/hf/token": "from-home\n", "/custom": "  from-path\r\n"]
        #expect(try resolve(["HF_HOME": "/hf", "HF_TOKEN": "from-variable"], files: files).token?.header.line == "Authorization: Bearer from-variable")
        #expect(try resolve(["HF_HOME": "/hf", "HUGGING_FACE_HUB_TOKEN": "older"], files: files).token?.origin == "HUGGING_FACE_HUB_TOKEN")
        #expect(try resolve(["HF_HOME": "/hf", "HF_TOKEN_PATH": "/custom"], files: files).token?.header.line == "Authorization: Bearer from-path")
        let fromHome = try resolve(["HF_HOME": "/hf", "HF_TOKEN": ""], files: files).token
        #expect(fromHome?.header.line == "Authorization: Bearer from-home" && fromHome?.description == "the token from /hf/token")
        #expect(try resolve(["HF_HOME": "/none"], files: files).token == nil)
    }

    @Test func anUnreadableTokenFileOrABadTokenFailsWithoutShowingIt() {
        #expect(throws: HubSettingsError(description: "/hf/token: cannot read the Hugging Face token file: not a regular file")) {
            try HubSettings.resolve(environment: ["HF_HOME": "/hf"]) { (_) throws(SmallFile.Failure) -> [UInt8] in throw .notARegularFile }
        }
        do {
            _ = try resolve(["HF_TOKEN": "secret\u{7}value"])
            Issue.record("a token with a control character was taken")
        } catch {
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func offlineIsSetAsHuggingFaceHubReadsIt() throws {
        for value in ["1", "on", "YES", "True"] { #expect(try resolve(["HF_HUB_OFFLINE": value]).offline) }
        for value in ["0", "", "no"] { #expect(try !resolve(["HF_HUB_OFFLINE": value]).offline) }
        #expect(try resolve(["TRANSFORMERS_OFFLINE": "1"]).offline)
    }
}
