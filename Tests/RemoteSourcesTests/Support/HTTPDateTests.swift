@testable import RemoteSources
import ByteSources
import Testing

@Suite struct HTTPDateTests {
    @Test func parsesTheFormatServersSend() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Timestamp(seconds: 784_111_777, nanoseconds: 0))
    }

    @Test func refusesOtherFormats() {
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 PST") == nil)
        #expect(HTTPDate.parse("Sun, 32 Nov 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("") == nil)
    }
}
