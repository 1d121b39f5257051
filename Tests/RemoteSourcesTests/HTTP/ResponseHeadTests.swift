@testable import RemoteSources
import SafetensorsFormat
import Testing

@Suite struct ResponseHeadTests {
    @Test func readsTheHeadersThatMatter() {
        var head = ResponseHead()
        for line in ["HTTP/1.1 206 Partial Content\r\n", "Content-Range: bytes 100-199/1000\r\n", "ETag: \"abc\"\r\n",
                     "last-modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n", "Content-Length: 100\r\n", "Retry-After: 3\r\n",
                     "X-Amz-Bucket-Region: eu-west-1\r\n", "\r\n"] {
            head.take(line: Substring(line))
        }
        #expect(head.status == 206)
        #expect(head.statusText == "HTTP 206 Partial Content")
        #expect(head.contentRange == ContentRange(parsing: "bytes 100-199/1000"))
        #expect(head.contentRange?.range == ByteRange(start: 100, end: 200))
        #expect(head.contentRange?.total == 1000)
        #expect(head.etag == "\"abc\"")
        #expect(head.lastModified == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(head.contentLength == 100)
        #expect(head.retryAfterSeconds == 3)
        #expect(head.bucketRegion == "eu-west-1")
    }

    @Test func aNewStatusLineStartsOver() {
        var head = ResponseHead()
        head.take(line: "HTTP/1.1 302 Found\r\n")
        head.take(line: "Location: /elsewhere\r\n")
        head.take(line: "HTTP/2 200\r\n")
        #expect(head.status == 200)
        #expect(head.location == nil)
        #expect(head.statusText == "HTTP 200")
    }

    @Test func parsesContentRangeForms() {
        #expect(ContentRange(parsing: "bytes */0")?.total == 0)
        #expect(ContentRange(parsing: "bytes */0")?.range == nil)
        #expect(ContentRange(parsing: "bytes 0-9/*")?.total == nil)
        #expect(ContentRange(parsing: "bytes 9-0/10") == nil)
        #expect(ContentRange(parsing: "items 0-9/10") == nil)
        #expect(ContentRange(parsing: "bytes 0-x/10") == nil)
    }
}
