@testable import Mounting
import Testing

@Suite struct DaemonHandoffTests {
    @Test func reportsReadBackAsTheyWereSent() {
        for report in [DaemonReport.progress("3 headers fetched"), .warning("odd: x"), .ready, .error("bad file: y")] {
            #expect(DaemonReport(line: report.line) == report)
        }
    }

    @Test func aReportIsAlwaysOneLine() {
        let report = DaemonReport.error("first\nsecond\rthird")
        #expect(report.line == "error first second third")
        #expect(DaemonReport(line: "nonsense here") == nil)
    }
}
