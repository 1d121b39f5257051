/// What the command line this process was started with asks for. Besides `tensorfs COMMAND
/// ...`, two forms come from mount(8):
/// - `tensorfs SOURCE DIR -o OPTIONS`, as mount.fuse3 runs a filesystem of type
///   `fuse.tensorfs` (mount(8) finds /sbin/mount.fuse, which runs `tensorfs` from the PATH);
/// - `mount.fuse.tensorfs SOURCE DIR [-sfnv] [-o OPTIONS] [-t TYPE]`, as mount(8) runs a helper
///   of that name in /sbin (a link to tensorfs).
///
/// Both mount, and `-o` lists are expanded (`MountOptionList`) in every form.
enum Invocation: Equatable {
    /// Run the command with these arguments.
    case run([String])
    /// mount(8)'s `-f`: pretend, doing nothing.
    case fake
    /// The command line cannot be served, for this reason.
    case refused(String)

    /// The invocation `commandLine` (the program's name first) asks for.
    init(commandLine: [String]) {
        let name = commandLine.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        let arguments = Array(commandLine.dropFirst())
        if name.hasPrefix("mount.") {
            self = Self.helper(arguments)
        } else if arguments.first == MountCommand._commandName {
            self = .run(["mount"] + MountOptionList.expand(Array(arguments.dropFirst())))
        } else if let first = arguments.first, arguments.count >= 2, !first.hasPrefix("-"), !Self.commandNames.contains(first) {
            self = .run(["mount"] + MountOptionList.expand(arguments))
        } else {
            self = .run(arguments)
        }
    }

    /// The names of the subcommands (and `help`), which a first argument that is no source names.
    private static let commandNames: Set<String> = Set(
        TensorFSCommand.configuration.subcommands.flatMap { [$0._commandName] + $0.configuration.aliases } + ["help"])

    /// mount(8)'s helper arguments: the source and the directory, `-o` lists, `-t TYPE`, and
    /// the flags `-s` (sloppy), `-n` (no mtab), `-v` (verbose), taken as given, and `-f` (fake).
    private static func helper(_ arguments: [String]) -> Invocation {
        var positional: [String] = []
        var options: [String] = []
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "-o":
                guard let list = remaining.popFirst() else { return .refused("-o needs a list of options") }
                options += ["-o", list]
            case "-t":
                _ = remaining.popFirst()
            case "-N":
                return .refused("mounting in another namespace (-N) is not supported")
            case "-h", "--help":
                return .run(["mount", "--help"])
            default:
                if argument.hasPrefix("-o") {
                    options.append(argument)
                } else if argument.hasPrefix("-"), argument.count > 1 {
                    let flags = argument.dropFirst()
                    guard flags.allSatisfy("sfnv".contains) else { return .refused("unknown mount helper option \(argument)") }
                    if flags.contains("f") { return .fake }
                } else {
                    positional.append(argument)
                }
            }
        }
        guard positional.count == 2 else { return .refused("a mount helper takes a SOURCE and a DIRECTORY, not \(positional.count) arguments") }
        return .run(["mount"] + MountOptionList.expand(options) + ["--"] + positional)
    }
}
