import ArgumentParser
import FuseBridge
import TensorFS

/// The everyday options of `mount`, listed first in its help: how the tree looks, FUSE's `-o`
/// options, the foreground and the log; then ownership and the finer settings.
struct MountOptions: ParsableArguments {
    @Option(help: "How tensor names become paths: tree (split at '.') or flat.")
    var layout: Layout = .tree

    @Option(help: ArgumentHelp("Which files to show per tensor, comma-separated: raw, json, npy, f32 (T.f32.npy: narrow floats as float32, FP8 dequantized).", valueName: "LIST"))
    var views: String = "raw,json,npy"

    @Option(name: .customShort("o"), help: ArgumentHelp(
        "Mount options, comma-separated: any option of this command as KEY=VALUE or KEY (views=raw, tp=2, cache_dir=/c), FUSE's (allow_other, ...), or mount(8)'s (ro, nofail, ...).",
        valueName: "opt[,opt...]"))
    var fuseOptions: [String] = []

    @Flag(name: [.short, .long], help: "Stay in the foreground; SIGINT or SIGTERM unmounts.")
    var foreground = false

    @Option(help: ArgumentHelp("Append the daemon's log to this file (a regular file). Without it a background daemon sends warnings and errors to the system log.", valueName: "FILE"),
            completion: .file())
    var logFile: String?

    @Flag(help: "Mount each SOURCE as its own model, in a directory named after it.")
    var separate = false

    @Option(help: ArgumentHelp("The owner of every file and directory (a user id).", valueName: "UID"))
    var uid: UInt32?

    @Option(help: ArgumentHelp("The group of every file and directory (a group id).", valueName: "GID"))
    var gid: UInt32?

    @Option(help: ArgumentHelp("Permission bits (octal) withheld from every file (0444) and directory (0555), e.g. 027.", valueName: "UMASK"))
    var umask: Umask = Umask(bits: 0)

    @Flag(name: [.customLong("allow-non-empty"), .customLong("nonempty")], help: "Mount over a directory that holds files, hiding them while mounted.")
    var allowNonEmpty = false

    @Flag(help: "Log every FUSE operation.")
    var debug = false

    @Option(help: ArgumentHelp("Kernel read-ahead for the mount in KiB (needs root; 0 keeps the kernel's default).", valueName: "KIB"))
    var readAhead: Int = 4096

    @Option(help: ArgumentHelp("The most threads serving requests at once.", valueName: "N"))
    var threads: Int = MountSettings.defaultThreads

    @Flag(help: "Serve every file through the daemon, never letting the kernel read a whole local file itself (FUSE passthrough).")
    var noPassthrough = false

    func validate() throws {
        _ = try viewSet()
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
        guard readAhead >= 0 else { throw ValidationError("--read-ahead must not be negative.") }
    }

    /// The views named by `--views`.
    func viewSet() throws -> ViewSelection {
        do {
            return try ViewSelection(parsing: views)
        } catch {
            throw ValidationError("--views: \(error)")
        }
    }

    /// How to mount at `mountpoint`, named `sourceName`.
    func settings(mountpoint: String, sourceName: String) -> MountSettings {
        MountSettings(
            mountpoint: mountpoint, sourceName: sourceName, fuseOptions: fuseOptions,
            ownership: FileOwnership(uid: uid, gid: gid, umask: umask.bits), allowsNonEmptyMountpoint: allowNonEmpty,
            readAheadKiB: readAhead > 0 ? readAhead : nil, threads: threads, passthrough: !noPassthrough)
    }
}

/// Permission bits written in octal, as `umask` takes them: `027`, `0022`.
struct Umask: ExpressibleByArgument {
    var bits: UInt32

    init(bits: UInt32) {
        self.bits = bits
    }

    init?(argument: String) {
        guard let bits = UInt32(argument, radix: 8), bits <= FileOwnership.maximumUmask else { return nil }
        self.bits = bits
    }

    var defaultValueDescription: String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
}

extension Layout: ExpressibleByArgument {}
