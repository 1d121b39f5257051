@testable import RemoteSources
import Testing

@Suite struct XMLElementsTests {
    @Test func findsElementsInOrderAndDecodesTheirText() {
        let document: Substring = """
            <?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>a &amp; b/x&lt;1&gt;.safetensors</Key></Contents>\
            <Contents><Key>caf&#233;&#x2F;&quot;q&apos;</Key></Contents>\
            <NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>
            """
        let keys = XMLElements.contents(of: "Contents", in: document).compactMap { XMLElements.text(of: "Key", in: $0) }
        #expect(keys == ["a & b/x<1>.safetensors", "café/\"q'"])
        #expect(XMLElements.text(of: "IsTruncated", in: document) == "true")
        #expect(XMLElements.text(of: "NextContinuationToken", in: document) == "tok+/=")
        #expect(XMLElements.text(of: "Missing", in: document) == nil)
    }

    @Test func leavesUnknownEntitiesAndStrayAmpersandsAlone() {
        #expect(XMLElements.decode("a &bogus; b & c") == "a &bogus; b & c")
    }
}
