import ArgumentParser
import ByteSources
import Mounting
import RemoteSources

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount safetensors files as a directory tree of tensors.",
        discussion: """
            Returns once the mount answers, leaving a daemon in the background; stop it with \
            `tensorfs unmount MOUNTPOINT`. Every source is validated first: a bad file fails \
            with one line naming it, and nothing is mounted. Every option also has an -o \
            spelling: its long name with '_' for '-', as in -o layout=flat,views=raw,uid=1000.
            """
    )

    @Argument(help: ArgumentHelp(
        "One or more sources, then the mountpoint. A source is a .safetensors file, a model.safetensors.index.json, or a directory (its index, else its .safetensors files), local or remote: s3://BUCKET/KEY, s3://BUCKET/PREFIX/, an http(s):// URL of a file or an index, or a Hugging Face Hub model, hf://ORG/NAME[@REVISION][/FOLDER] (the local HF cache first; HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE apply).",
        valueName: "SOURCE... MOUNTPOINT"), completion: .file())
    var paths: [String]

    @OptionGroup(title: "Mount options")
    var options: MountOptions

    @OptionGroup(title: "Sources")
    var sourceOptions: SourceOptions

    @OptionGroup(title: "Tensor-parallel views")
    var tensorParallel: TensorParallelArguments

    @OptionGroup(title: "Remote sources")
    var remote: RemoteAccessOptions

    @OptionGroup(title: "Remote reading")
    var reading: RemoteReadingOptions

    /// Set only in the daemon a mount starts: its configuration comes over this descriptor, and
    /// the other arguments only tell `ps` what it serves.
    @Option(help: .hidden)
    var launcherDescriptor: Int32?

    func validate() throws {
        guard paths.count >= 2 else {
            throw ValidationError("Give at least one SOURCE and a MOUNTPOINT.")
        }
        if options.debug && !options.foreground && options.logFile == nil && launcherDescriptor == nil {
            throw ValidationError("--debug needs --foreground or --log-file: the background daemon has no terminal to write to.")
        }
    }

    func run() throws {
        if let launcherDescriptor { MountServer.serveForLauncher(descriptor: launcherDescriptor) }
        let configuration: MountConfiguration
        do {
            configuration = try self.configuration()
        } catch let error as HTTPHeaderError {
            fail("--header: \(error)")
        }
        if options.foreground { MountServer.serveInForeground(configuration) }
        let arguments = Self.daemonArguments(for: configuration)
        if case .failed(let message) = DaemonLauncher.launch(configuration, executable: Self.executablePath(), arguments: arguments) {
            fail(message)
        }
    }

    /// The daemon's command line: it takes its configuration from the launcher's channel, and
    /// names the sources (without secrets) and the mountpoint only to show `ps` what it serves.
    static func daemonArguments(for configuration: MountConfiguration) -> [String] {
        ["mount", "--launcher-descriptor", String(DaemonLauncher.channelDescriptor), "--"]
            + configuration.sources.map(SecretArguments.shown) + [configuration.mount.mountpoint]
    }

    /// Everything the mount needs, from the parsed arguments, paths made absolute; fails when a
    /// `--header` (or the file it names) is unusable.
    func configuration() throws -> MountConfiguration {
        let sources = paths.dropLast().map(absolutePath)
        let headers = try remote.parsedHeaders()
        return MountConfiguration(
            sources: sources, loadOptions: sourceOptions.loadOptions, layout: options.layout, views: try options.viewSet(), separate: options.separate,
            tensorParallel: tensorParallel.request(absolute: absolutePath),
            remote: reading.applied(to: remote.settings(headers: headers), absolute: absolutePath),
            mount: options.settings(mountpoint: absolutePath(paths.last!), sourceName: MountConfiguration.sourceName(of: sources)),
            logFile: options.logFile.map(absolutePath), debug: options.debug)
    }

    /// This program, as the kernel started it.
    static func executablePath() -> String {
        (try? symbolicLinkTarget("/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
