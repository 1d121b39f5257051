@testable import RemoteSources
import Testing

/// S3Listing reads its pages through the retry loop that object reads use.
@Suite struct S3ListingTests {
    private func listing(over transport: ScriptedTransport) throws -> S3Listing {
        let settings = try AWSSettings.resolve(
            environment: ["AWS_ACCESS_KEY_ID": "KEY", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1"],
            readFile: { _ in nil }, signRequests: true)
        return S3Listing(settings: settings, transport: transport, policy: RetryPolicy(totalMilliseconds: 10_000, retriesUnreachableHosts: false))
    }

    private func page(_ keys: [String], next: String? = nil) -> ScriptedTransport.Answer {
        let contents = keys.map { "<Contents><Key>\($0)</Key></Contents>" }.joined()
        let tail = next.map { "<IsTruncated>true</IsTruncated><NextContinuationToken>\($0)</NextContinuationToken>" } ?? "<IsTruncated>false</IsTruncated>"
        return ScriptedTransport.Answer(status: 200, body: Array("<ListBucketResult>\(contents)\(tail)</ListBucketResult>".utf8))
    }

    @Test func pagesAreRetriedLikeObjectReadsAndFollowed() throws {
        let transport = ScriptedTransport()
        transport.script(
            ScriptedTransport.Answer(status: 503, headers: ["Retry-After: 1"]),
            page(["models/b.safetensors", "models/c.json"], next: "token one"),
            .broken(.interrupted, "connection reset"),
            page(["models/a.safetensors"]))
        let names = try listing(over: transport).names(in: S3Location(parsing: "s3://bucket/models/"))
        #expect(names == ["a.safetensors", "b.safetensors", "c.json"])
        #expect(transport.sent.count == 4)
        #expect(transport.sent[1].delay >= 1000)
        #expect(transport.sent[3].request.url.contains("continuation-token=token%20one"))
    }

    @Test func aRefusalIsExplainedFromS3sErrorDocument() throws {
        let transport = ScriptedTransport()
        transport.script(ScriptedTransport.Answer(
            status: 403, body: Array("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".utf8)))
        let listing = try listing(over: transport)
        let error = #expect(throws: ListingFailure.self) { try listing.names(in: S3Location(parsing: "s3://bucket/models/")) }
        #expect(error?.description.contains("403") == true && error?.description.contains("AccessDenied: Access Denied") == true)
    }
}
