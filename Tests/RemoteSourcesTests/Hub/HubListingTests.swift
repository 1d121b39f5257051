@testable import RemoteSources
import ByteSources
import Testing

/// HubListing over a scripted Hub: the revision's commit and files, the tree API where sizes
/// are missing, and refusals explained in one line.
@Suite struct HubListingTests {
    private let commit = "0123456789abcdef0123456789abcdef01234567"
    private let policy = RetryPolicy(totalMilliseconds: 10_000, retriesUnreachableHosts: false)

    private func listing(_ transport: ScriptedTransport, token: String? = nil) throws -> HubListing {
        var environment = ["HF_ENDPOINT": "http://hub.example", "HF_HOME": "/nonexistent"]
        environment["HF_TOKEN"] = token
        let settings = try HubSettings.resolve(environment: environment) { (_) throws(SmallFile.Failure) -> [UInt8] in throw .system(.noSuchFileOrDirectory) }
        return HubListing(settings: settings, transport: transport, policy: policy)
    }

    private func json(_ text: String, headers: [String] = []) -> ScriptedTransport.Answer {
        ScriptedTransport.Answer(status: 200, headers: headers, body: Array(text.utf8))
    }

    @Test func theRevisionsCommitAndFilesComeFromTheRevisionAPI() throws {
        let transport = ScriptedTransport()
        transport.script(json(#"{"sha": "\#(commit)", "siblings": [{"rfilename": "config.json", "size": 12, "blobId": "b1"}, {"rfilename": "model.safetensors", "size": 4096, "blobId": "b2", "lfs": {"sha256": "s2", "size": 4096}}]}"#))
        let snapshot = try listing(transport, token: "hf_x").snapshot(of: try HubLocation(parsing: "hf://org/name@refs/pr/1"))
        #expect(snapshot.commit == commit)
        #expect(snapshot.files["model.safetensors"] == HubFile(path: "model.safetensors", size: 4096, blobID: "b2", sha256: "s2"))
        let request = transport.sent[0].request
        #expect(request.url == "http://hub.example/api/models/org/name/revision/refs%2Fpr%2F1?blobs=true")
        #expect(request.headers.contains("Authorization: Bearer hf_x"))
        #expect(transport.sent.count == 1)
    }

    @Test func siblingsWithoutSizesAreListedAgainFromTheTreeAtTheCommit() throws {
        let transport = ScriptedTransport()
        transport.script(json(#"{"sha": "\#(commit)", "siblings": [{"rfilename": "config.json"}, {"rfilename": "1_Pooling/config.json"}]}"#))
        transport.script(ScriptedTransport.Answer(status: 307, headers: ["Location: /api/models/org/name/tree/\(commit)/?recursive=true"]))
        transport.script(json(#"[{"type": "file", "oid": "o1", "size": 12, "path": "config.json"}, {"type": "directory", "oid": "d", "size": 0, "path": "1_Pooling"}, {"type": "file", "oid": "o2", "size": 7, "path": "1_Pooling/config.json"}]"#))
        let snapshot = try listing(transport).snapshot(of: try HubLocation(parsing: "hf://org/name"))
        #expect(transport.sent[1].request.url == "http://hub.example/api/models/org/name/tree/\(commit)?recursive=true")
        #expect(transport.sent[2].request.url == "http://hub.example/api/models/org/name/tree/\(commit)/?recursive=true")
        #expect(snapshot.files.keys.sorted() == ["1_Pooling/config.json", "config.json"])
        #expect(snapshot.files["1_Pooling/config.json"]?.size == 7)
        #expect(snapshot.entry(at: "") == .folder(entries: ["1_Pooling", "config.json"]))
        #expect(snapshot.entry(at: "1_Pooling/config.json") == .file)
        #expect(snapshot.files(below: "", skipping: ["1_Pooling"]) == ["config.json"])
    }

    @Test func anAnswerWithoutACommitOrNotJSONFails() throws {
        let transport = ScriptedTransport()
        transport.script(json(#"{"siblings": []}"#), json("<html>"))
        let location = try HubLocation(parsing: "hf://org/name")
        #expect(throws: ListingFailure.self) { try listing(transport).snapshot(of: location) }
        #expect { try listing(transport).snapshot(of: location) } throws: { "\($0)".contains("not valid JSON") }
    }

    @Test func refusalsSayWhatIsMissingOrThatATokenIsNeeded() throws {
        let cases: [(ScriptedTransport.Answer, String?, String)] = [
            (.init(status: 401, headers: ["X-Error-Code: RepoNotFound"]), nil, "does not exist, or it is private or gated and no token was sent; set HF_TOKEN"),
            (.init(status: 401, headers: ["X-Error-Code: RepoNotFound"]), "hf_x", "or the token from HF_TOKEN may not read it"),
            (.init(status: 403, headers: ["X-Error-Code: GatedRepo"]), "hf_x", "the repository is gated"),
            (.init(status: 404, headers: ["X-Error-Code: RevisionNotFound"]), nil, "has no revision 'v9'"),
            (.init(status: 404, headers: ["X-Error-Code: RepoNotFound"]), nil, "org/name does not exist"),
        ]
        for (answer, token, phrase) in cases {
            let transport = ScriptedTransport()
            transport.script(answer)
            #expect(Comment(rawValue: phrase)) {
                try listing(transport, token: token).snapshot(of: try HubLocation(parsing: "hf://org/name@v9"))
            } throws: { error in
                "\(error)".contains(phrase) && !"\(error)".contains("hf_x") && !"\(error)".contains("\n")
            }
        }
    }
}

/// HubEndpoint: the token to the Hub's origin only, preconditions only across redirects, and
/// answers checked against the commit, the listed size and the listed content hash.
@Suite struct HubEndpointTests {
    private let commit = "0123456789abcdef0123456789abcdef01234567"

    private func endpoint(sha256: String? = "aa11") throws -> HubEndpoint {
        let settings = try HubSettings.resolve(environment: ["HF_ENDPOINT": "http://hub.example", "HF_TOKEN": "hf_x"]) { (_) throws(SmallFile.Failure) -> [UInt8] in [] }
        let file = HubFile(path: "dir/model 1.safetensors", size: 100, blobID: "b", sha256: sha256)
        return HubEndpoint(file: file, at: commit, shownAs: try HubLocation(parsing: "hf://org/name/dir/model 1.safetensors"), settings: settings)
    }

    private func head(_ lines: String...) -> ResponseHead {
        var head = ResponseHead()
        for line in lines { head.take(line: Substring(line + "\r\n")) }
        return head
    }

    @Test func filesAreAskedForAtThePinnedCommitWithTheTokenButNoPreconditions() throws {
        let endpoint = try endpoint()
        let request = endpoint.request(for: nil, conditions: ["If-Match: \"e\""])
        #expect(request.url == "http://hub.example/org/name/resolve/\(commit)/dir/model%201.safetensors")
        #expect(request.headers == ["Authorization: Bearer hf_x"])
        #expect(endpoint.listed?.size == 100 && endpoint.listed?.identity.contains(commit) == true)
    }

    @Test func aRedirectToTheCDNGetsThePreconditionsButNotTheToken() throws {
        let endpoint = try endpoint()
        guard case .followed = endpoint.follow(redirect: head("HTTP/1.1 302 Found", "Location: https://cdn.example/blob?sig=1")) else {
            Issue.record("the redirect was not followed")
            return
        }
        #expect(endpoint.request(for: nil, conditions: ["If-Match: \"e\""]).headers == ["If-Match: \"e\""])
    }

    @Test func answersOfAnotherCommitSizeOrContentAreChanges() throws {
        let endpoint = try endpoint()
        #expect(endpoint.mismatch(in: head("HTTP/1.1 302 Found", "X-Repo-Commit: \(commit)", "X-Linked-Etag: \"aa11\"")) == nil)
        #expect(endpoint.mismatch(in: head("HTTP/1.1 302 Found", "X-Repo-Commit: ffff"))?.contains("commit ffff") == true)
        #expect(endpoint.mismatch(in: head("HTTP/1.1 302 Found", "X-Linked-Etag: W/\"bb22\""))?.contains("bb22") == true)
        #expect(endpoint.mismatch(in: head("HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/101"))?.contains("101 bytes") == true)
        #expect(try self.endpoint(sha256: nil).mismatch(in: head("HTTP/1.1 200 OK", "X-Linked-Etag: \"bb22\"", "Content-Length: 100")) == nil)
    }
}
