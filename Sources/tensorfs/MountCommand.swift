import ByteSources
import ArgumentParser
import FuseBridge
import RemoteSources
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount safetensors files as a directory tree of tensors.",
        discussion: """
            Returns once the mount is live, leaving a daemon in the background; stop it with \
            `tensorfs unmount MOUNTPOINT`. Every source is validated first: a bad file fails \
            with one line naming it, and nothing is mounted.
            """
    )

    @Argument(help: ArgumentHelp(
        "One or more sources, then the mountpoint. A source is a .safetensors file, a model.safetensors.index.json, or a directory (its index, else its .safetensors files), local or remote: s3://BUCKET/KEY, s3://BUCKET/PREFIX/, or an http(s):// URL of a file or an index.",
        valueName: "SOURCE... MOUNTPOINT"))
    var paths: [String]

    @Option(help: "How tensor names become paths: tree (split at '.') or flat.")
    var layout: Layout = .tree

    @Option(help: "Which files to show per tensor, comma-separated: raw, json, npy.")
    var views: String = "raw,json,npy"

    @Flag(help: "Mount each SOURCE as its own model, in a directory named after it.")
    var separate = false

    @Option(name: .customShort("o"), help: ArgumentHelp("FUSE mount options, comma-separated (allow_other, ...).", valueName: "opt[,opt...]"))
    var fuseOptions: [String] = []

    @Flag(name: [.short, .long], help: "Stay in the foreground; SIGINT or SIGTERM unmounts.")
    var foreground = false

    @Flag(help: "Log every FUSE operation.")
    var debug = false

    @Option(help: "Append the daemon's log to this file.")
    var logFile: String?

    @Option(help: "Kernel read-ahead for the mount in KiB (needs root; 0 keeps the kernel's default).")
    var readAhead: Int = 4096

    @Option(help: "The most threads serving requests at once.")
    var threads: Int = MountSettings.defaultThreads

    @OptionGroup(title: "Sources")
    var sourceOptions: SourceOptions

    @OptionGroup(title: "Tensor-parallel views")
    var tensorParallel: TensorParallelArguments

    @OptionGroup(title: "Remote sources")
    var remote: RemoteAccessOptions

    @OptionGroup(title: "Remote reading")
    var reading: RemoteReadingOptions

    @Option(help: .hidden)
    var readinessDescriptor: Int32?

    @Flag(help: .hidden)
    var sourcesInEnvironment = false

    func validate() throws {
        guard paths.count >= 2 else {
            throw ValidationError("Give at least one SOURCE and a MOUNTPOINT.")
        }
        if debug && !foreground && logFile == nil && readinessDescriptor == nil {
            throw ValidationError("--debug needs --foreground or --log-file: the background daemon has no terminal to write to.")
        }
        _ = try viewSet()
        guard threads >= 1 else {
            throw ValidationError("--threads must be at least 1.")
        }
    }

    func run() throws {
        if foreground || readinessDescriptor != nil {
            serve()
        }
        do {
            let headers = try remote.parsedHeaders(fromEnvironment: false)
            if !headers.isEmpty { setenv(HTTPHeader.environmentVariable, HTTPHeader.environmentValue(headers), 1) }
        } catch {
            fail("--header: \(error)")
        }
        if sourcesHaveSecrets {
            setenv(SecretArguments.sourcesVariable, SecretArguments.environmentValue(sourceArguments.map(Self.absolute)), 1)
        }
        switch Daemon.launch(executable: Self.executablePath(), arguments: daemonArguments(), mountpoint: paths.last!) {
        case .ready(let warnings):
            warnings.forEach { printError("tensorfs: warning: \($0)") }
        case .failed(let message, let warnings):
            warnings.forEach { printError("tensorfs: warning: \($0)") }
            fail(message)
        }
    }

    /// Loads the model, mounts and serves until unmounted; reports to the launcher if there is one.
    private func serve() -> Never {
        let reporter = readinessDescriptor.map(ReadinessReporter.init(descriptor:))
        if reporter != nil {
            // A background daemon must not keep the directory it was started from busy; every
            // path it was given is absolute.
            _ = chdir("/")
        }
        let mountpoint = paths.last!
        var log = EventLog.disabled
        do {
            ProcessMemory.prepareForLoading()
            log = try openLog()
            let inDaemon = readinessDescriptor != nil
            let remoteSettings = reading.applied(to: remote.settings(headers: try remote.parsedHeaders(fromEnvironment: inDaemon)))
            let remoteContext = try RemoteContext(settings: remoteSettings, log: log)
            let loader = ModelLoader(locators: remoteContext.locators, options: sourceOptions.loadOptions)
            let sources = try daemonSources()
            let models = separate ? try loader.loadSeparately(sources) : [try loader.loadMerged(sources)]
            log.write(.info, "loaded \(models.reduce(0) { $0 + $1.tensors.count }) tensors from \(models.reduce(0) { $0 + $1.shards.count }) files")
            try MountPreflight.check(mountpoint: mountpoint)
            for warning in models.flatMap(\.warnings) + remoteContext.warnings {
                log.write(.warning, warning)
                if let reporter { reporter.warn(warning) } else { printError("tensorfs: warning: \(warning)") }
            }
            let options = FileSystemOptions(layout: layout, views: try viewSet(), modelDirectories: separate)
            let fileSystem = TensorFileSystem(models: models, options: options, tensorParallel: try tensorParallel.plan(for: models))
            ProcessMemory.prepareForServing()
            log.write(.info, "serving \(fileSystem.inodeCount) inodes from \(models.reduce(0) { $0 + $1.shards.count }) files")
            let bridge = FuseBridge(fileSystem: fileSystem, log: log) { reporter?.ready() ?? true }
            remoteContext.abandonTransfers(once: { bridge.hasEnded })
            // Resolved before mounting: once mounted, resolving a path that passes through the
            // mount (`mnt/../mnt`) would wait on this very daemon.
            let resolved = MountTable.realpathWithoutTouchingMount(mountpoint)
            let settings = MountSettings(mountpoint: resolved, fuseOptions: fuseOptions, readAheadKiB: readAhead > 0 ? readAhead : nil, threads: threads)
            try bridge.serve(settings)
            remoteContext.finishCacheWrites()
            Glibc.exit(0)
        } catch {
            let message = Self.describe(error)
            log.write(.error, message)
            if let reporter { reporter.fail(message) } else { printError("tensorfs: \(message)") }
            Glibc.exit(1)
        }
    }

    /// The error's line, with a hint when the tensors of several SOURCEs collide: they may be
    /// unrelated models, which mount side by side in directories of their own.
    private static func describe(_ error: any Error) -> String {
        if case .duplicateTensor(_, _, _, acrossSources: true)? = error as? ModelError {
            return "\(error); to mount each SOURCE in a directory of its own, add --separate"
        }
        return "\(error)"
    }

    private var sourceArguments: [String] { Array(paths.dropLast()) }

    /// The sources: from the arguments, or from the environment when they carry secrets (the
    /// command line then shows them without).
    private func daemonSources() throws -> [String] {
        guard sourcesInEnvironment else { return sourceArguments }
        guard let text = getenv(SecretArguments.sourcesVariable) else {
            throw ValidationError("\(SecretArguments.sourcesVariable) is not set")
        }
        let sources = SecretArguments.sources(fromEnvironmentValue: String(cString: text))
        unsetenv(SecretArguments.sourcesVariable)
        guard sources.count == sourceArguments.count else {
            throw ValidationError("\(SecretArguments.sourcesVariable) holds \(sources.count) sources, not \(sourceArguments.count)")
        }
        return sources
    }

    /// The log file if one was asked for, else stderr in the foreground and nothing in the
    /// background (a daemon's stderr is /dev/null).
    private func openLog() throws(LogFileError) -> EventLog {
        let level: EventLog.Level = debug ? .debug : (logFile != nil ? .info : .warning)
        if let logFile {
            let descriptor = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if descriptor < 0 { throw LogFileError(path: logFile, errno: errno) }
            return EventLog(descriptor: descriptor, level: level)
        }
        return readinessDescriptor == nil ? EventLog(descriptor: 2, level: level) : .disabled
    }

    private func viewSet() throws -> ViewSelection {
        do {
            return try ViewSelection(parsing: views)
        } catch {
            throw ValidationError("--views: \(error)")
        }
    }

    /// The same command line, run in the foreground and reporting on the readiness pipe.
    private func daemonArguments() -> [String] {
        var arguments = ["mount", "--layout", layout.rawValue, "--views", views, "--read-ahead", String(readAhead), "--threads", String(threads),
                         "--readiness-descriptor", String(Daemon.readinessDescriptor)]
        if separate { arguments.append("--separate") }
        if debug { arguments.append("--debug") }
        if let logFile { arguments += ["--log-file", Self.absolute(logFile)] }
        arguments += sourceOptions.daemonArguments + tensorParallel.daemonArguments(absolute: Self.absolute)
        for option in fuseOptions { arguments += ["-o", option] }
        arguments += remote.daemonArguments + reading.daemonArguments(absolute: Self.absolute)
        if sourcesHaveSecrets { arguments.append("--sources-in-environment") }
        let shownSources = sourceArguments.map { SecretArguments.shown(Self.absolute($0)) }
        return arguments + ["--"] + shownSources + [Self.absolute(paths.last!)]
    }

    /// Whether a SOURCE holds credentials or a query, which the daemon then takes from its
    /// environment rather than its command line.
    private var sourcesHaveSecrets: Bool { sourceArguments.contains(where: SecretArguments.hasSecrets) }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") || path.contains("://") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Layout: ExpressibleByArgument {}

/// The log file asked for cannot be opened.
struct LogFileError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32

    var description: String { "\(path): cannot open the log file: \(String(cString: strerror(errno)))" }
}
