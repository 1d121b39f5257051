#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `-o` lists as mount(8), /etc/fstab and FUSE users write them. Each item is sorted by its key:
/// - a long option of `tensorfs mount` (`-o layout=flat` is `--layout flat`, `-o cache_dir=D`
///   is `--cache-dir D`, `-o separate` is `--separate`), found in the command's own definition
///   of its options, so that every option has its `-o` spelling without a second list;
/// - an option of mount(8) itself, which means nothing to a FUSE filesystem (`nofail`,
///   `_netdev`, `x-systemd.automount`, ...): dropped, as mount.fuse3 drops them;
/// - anything else is FUSE's (`allow_other`, `max_read=N`, `nosuid`, ...), passed on as typed.
///
/// A value holding commas is written in double quotes: `-o 'views="raw,json"'`.
enum MountOptionList {
    /// `arguments` of `tensorfs mount` with each `-o LIST` (or `-oLIST`) expanded; everything
    /// after `--` is left alone.
    static func expand(_ arguments: [String]) -> [String] {
        var expanded: [String] = []
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            let list: String
            if argument == "--" {
                expanded += [argument] + remaining
                break
            } else if argument == "-o", let next = remaining.popFirst() {
                list = next
            } else if argument.hasPrefix("-o"), argument.count > 2 {
                list = String(argument.dropFirst(2))
            } else {
                expanded.append(argument)
                continue
            }
            var forFuse: [String] = []
            for item in items(of: list) {
                if let option = mountOptions[item.key.replacing("_", with: "-")] {
                    expanded += option.takesValue ? ["--" + option.name, item.value ?? ""] : ["--" + option.name]
                } else if !isMountCommandOption(item.key) {
                    forFuse.append(item.typed)
                }
            }
            if !forFuse.isEmpty { expanded += ["-o", forFuse.joined(separator: ",")] }
        }
        return expanded
    }

    /// Options of mount(8) and its helpers that FUSE filesystems take no notice of.
    private static let mountCommandOptions: Set<String> = [
        "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev", "rw", "ro",
    ]

    private static func isMountCommandOption(_ key: String) -> Bool {
        mountCommandOptions.contains(key) || key.hasPrefix("x-") || key.hasPrefix("X-") || key == "comment"
    }

    /// One item of a list: `key`, or `key=value` (quotes removed from the value).
    private struct Item {
        var key: String
        var value: String?
        var typed: String
    }

    /// The items of `list`, split at commas outside double quotes.
    private static func items(of list: String) -> [Item] {
        var items: [Item] = []
        var current = ""
        var quoted = false
        for character in list + "," {
            if character == "\"" { quoted.toggle() }
            if character == "," && !quoted {
                if !current.isEmpty { items.append(item(current)) }
                current = ""
            } else {
                current.append(character)
            }
        }
        return items
    }

    private static func item(_ typed: String) -> Item {
        guard let equals = typed.firstIndex(of: "=") else { return Item(key: typed, value: nil, typed: typed) }
        var value = String(typed[typed.index(after: equals)...])
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        return Item(key: String(typed[..<equals]), value: value, typed: typed)
    }

    /// An option of `tensorfs mount`, by its long name.
    private struct MountOption {
        var name: String
        var takesValue: Bool
    }

    /// The long options of `tensorfs mount` (hidden ones and `--help` aside), from the
    /// command's own description of itself.
    private static let mountOptions: [String: MountOption] = {
        guard let description = try? JSONDecoder().decode(CommandDescription.self, from: Data(MountCommand._dumpHelp().utf8)) else { return [:] }
        var options: [String: MountOption] = [:]
        for argument in description.command.arguments ?? [] where argument.shouldDisplay && argument.kind != "positional" {
            for name in argument.names ?? [] where name.kind == "long" && name.name != "help" {
                options[name.name] = MountOption(name: name.name, takesValue: argument.kind == "option")
            }
        }
        return options
    }()

    /// The part of swift-argument-parser's description of a command (`--experimental-dump-help`)
    /// read here.
    private struct CommandDescription: Decodable {
        struct Command: Decodable {
            var arguments: [Argument]?
        }

        struct Argument: Decodable {
            var kind: String
            var names: [Name]?
            var shouldDisplay: Bool
        }

        struct Name: Decodable {
            var kind: String
            var name: String
        }

        var command: Command
    }
}
