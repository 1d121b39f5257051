import ArgumentParser

struct TensorFSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensorfs",
        abstract: "Mount safetensors model weights as plain files.",
        discussion: "Also runs as `mount -t fuse.tensorfs SOURCE DIR -o OPTIONS` and from /etc/fstab; see `man tensorfs`.",
        subcommands: [MountCommand.self, UnmountCommand.self, InspectCommand.self]
    )

    /// The version `-V` prints.
    static let version = "0.1.0"

    @Flag(name: [.customShort("V"), .customLong("version")], help: "Show the version.")
    var showVersion = false

    func run() throws {
        guard showVersion else { throw CleanExit.helpRequest(self) }
        print(Self.version)
    }
}
