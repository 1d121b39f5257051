@testable import RemoteSources
import Testing

@Suite struct ObjectVersionTests {
    @Test func aStrongETagMakesRequestsConditionalWithIfMatch() {
        let version = ObjectVersion(size: 10, etag: "\"v1\"", lastModified: "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(version.conditionHeaders == ["If-Match: \"v1\""])
        #expect(version.isIdentifiable)
    }

    @Test func aWeakOrMissingETagFallsBackToTheModificationTime() {
        let weak = ObjectVersion(size: 10, etag: "W/\"v1\"", lastModified: "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(weak.conditionHeaders == ["If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"])
        let bare = ObjectVersion(size: 10, etag: nil, lastModified: nil)
        #expect(bare.conditionHeaders.isEmpty)
        #expect(!bare.isIdentifiable)
    }

    @Test func aResponseOfAnotherVersionIsNamed() {
        let version = ObjectVersion(size: 1000, etag: "\"v1\"", lastModified: nil)
        var head = ResponseHead()
        head.take(line: "HTTP/1.1 206 Partial Content")
        head.take(line: "Content-Range: bytes 0-9/1000")
        head.take(line: "ETag: \"v1\"")
        #expect(version.mismatch(with: head) == nil)
        head.take(line: "ETag: \"v2\"")
        #expect(version.mismatch(with: head)?.contains("\"v2\"") == true)
        var shorter = ResponseHead()
        shorter.take(line: "Content-Range: bytes 0-9/999")
        #expect(version.mismatch(with: shorter)?.contains("999") == true)
    }

    @Test func aWholeAnswerOfAnotherLengthIsAnotherVersion() {
        let version = ObjectVersion(size: 1000, etag: nil, lastModified: nil)
        var head = ResponseHead()
        head.take(line: "HTTP/1.1 200 OK")
        head.take(line: "Content-Length: 1000")
        #expect(version.mismatch(with: head) == nil)
        head.take(line: "Content-Length: 1001")
        #expect(version.mismatch(with: head)?.contains("1001") == true)
    }
}
