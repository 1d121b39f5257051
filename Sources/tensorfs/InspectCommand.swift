import ArgumentParser
import TensorFS

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate safetensors files and list their tensors, without mounting.",
        discussion: "Exits 0 only when every SOURCE is valid and consistent."
    )

    @Flag(help: "Print JSON for scripts: {\"metadata\": {...}, \"tensors\": [...]}.")
    var json = false

    @Argument(help: "A .safetensors file, a model.safetensors.index.json, or a directory.")
    var sources: [String]

    func run() throws {
        let model: LogicalModel
        do {
            model = try ModelLoader().loadMerged(sources)
        } catch {
            fail("\(error)")
        }
        for warning in model.warnings { printError("tensorfs: warning: \(warning)") }
        let report = InspectReport(model: model)
        writeOut(json ? report.json() : Array(report.table().utf8))
    }
}
