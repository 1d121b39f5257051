import ByteSources
import ArgumentParser
import Mounting
import RemoteSources
import TensorFS

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate safetensors files and list their tensors, without mounting.",
        discussion: "Exits 0 only when every SOURCE is valid and consistent."
    )

    @Flag(help: "Print JSON for scripts: {\"metadata\": {...}, \"tensors\": [...]}.")
    var json = false

    @Option(help: "List only tensors whose whole name matches this shell pattern (*, ?, [...]).")
    var filter: String?

    @Option(help: "Order of the listing: name, size (largest first) or file (as stored).")
    var sort: InspectQuery.Order = .name

    @Option(help: "List at most this many tensors; totals still count every match.")
    var limit: Int?

    @Flag(help: "Print only the totals per dtype and per file, and the summary line.")
    var summary = false

    @Argument(help: "A .safetensors file, a model.safetensors.index.json, or a directory; local, s3://..., http(s)://... or hf://ORG/NAME[@REVISION]", completion: .file())
    var sources: [String]

    @OptionGroup(title: "Sources")
    var sourceOptions: SourceOptions

    @OptionGroup(title: "Remote sources")
    var remote: RemoteAccessOptions

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative.") }
    }

    func run() throws {
        let model: LogicalModel
        do {
            let settings = remote.settings(headers: try remote.parsedHeaders())
            let context = try RemoteContext(settings: settings, log: EventLog(descriptor: 2, level: .warning))
            model = try ModelLoader(locators: context.locators, options: sourceOptions.loadOptions).loadMerged(sources)
        } catch {
            fail("\(error)")
        }
        for warning in model.warnings { Terminal.printLine("tensorfs: warning: \(warning)") }
        let report = InspectReport(model: model, query: InspectQuery(pattern: filter, order: sort, limit: limit))
        writeOut(json ? report.json() : Array(report.table(listingTensors: !summary).utf8))
    }
}

extension InspectQuery.Order: ExpressibleByArgument {}
