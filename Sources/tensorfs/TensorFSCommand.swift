import ArgumentParser

@main
struct TensorFSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensorfs",
        abstract: "Mount safetensors model weights as plain files.",
        version: "0.1.0",
        subcommands: [MountCommand.self, UnmountCommand.self, InspectCommand.self]
    )
}
