import ArgumentParser
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

    @Argument(help: "A .safetensors file, a model.safetensors.index.json, or a directory; local, s3://... or http(s)://...")
    var sources: [String]

    @OptionGroup(title: "Remote sources")
    var remote: RemoteAccessOptions

    func run() throws {
        let model: LogicalModel
        do {
            let settings = remote.settings(headers: try remote.parsedHeaders(fromEnvironment: false))
            let context = try RemoteContext(settings: settings, log: EventLog(descriptor: 2, level: .warning))
            model = try ModelLoader(locators: context.locators).loadMerged(sources)
        } catch {
            fail("\(error)")
        }
        for warning in model.warnings { printError("tensorfs: warning: \(warning)") }
        let report = InspectReport(model: model)
        writeOut(json ? report.json() : Array(report.table().utf8))
    }
}
