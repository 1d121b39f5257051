import ArgumentParser
import FuseBridge

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a tensorfs mount, also one left stale by a daemon that was killed.",
        aliases: ["umount"]
    )

    @Flag(help: "Detach the mount even while files on it are open.")
    var lazy = false

    @Argument(help: "The directory the model is mounted on.", completion: .directory)
    var mountpoint: String

    func run() throws {
        do {
            try Unmounter.unmount(mountpoint, lazy: lazy)
        } catch {
            fail("\(error)")
        }
    }
}
