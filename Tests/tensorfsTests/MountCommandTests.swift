#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ByteSources
import FuseBridge
@testable import Mounting
import RemoteSources
import TensorFS
import Testing
@testable import tensorfs

@Suite struct MountCommandTests {
    /// Every option given a value other than its default.
    static let everyOption = [
        "--layout", "flat", "--views", "raw,npy", "-o", "allow_other", "--log-file", "/var/log/t.log", "--separate",
        "--uid", "1000", "--gid", "1001", "--umask", "027", "--allow-non-empty", "--debug", "--read-ahead", "0", "--threads", "3",
        "--tp", "2", "--tp", "4", "--tp-rules", "/etc/rules", "--tp-rule", "*.w 0", "--tp-no-default-rules", "--tp-uneven", "array-split",
        "--tp-cache-mib", "64", "--revision", "v2", "--include-other-weights", "--header", "Authorization: Bearer secret-0451", "--no-sign-request", "--read-timeout", "7",
        "--stall-timeout", "2", "--cache-dir", "/var/cache/t", "--cache-size", "3G", "--part-size", "1M", "--prefetch-memory", "64M",
        "https://u:p@h.example/m.safetensors?sig=1", "/models/b.safetensors", "/mnt/m",
    ]

    @Test func everyOptionReachesTheDaemonThroughTheHandoffUnchanged() throws {
        let configuration = try MountCommand.parse(Self.everyOption).configuration()
        let handoff = DaemonHandoff(launcher: 42, showsProgress: false, configuration: configuration)
        let received = try JSONDecoder().decode(DaemonHandoff.self, from: JSONEncoder().encode(handoff)).configuration
        #expect(received == configuration)

        #expect(received.sources == ["https://u:p@h.example/m.safetensors?sig=1", "/models/b.safetensors"])
        let views = try ViewSelection(parsing: "raw,npy")
        #expect(received.loadOptions == LoadOptions(revision: "v2", includesOtherWeights: true))
        #expect(received.layout == .flat && received.views == views && received.separate)
        #expect(received.logFile == "/var/log/t.log" && received.debug)
        #expect(received.tensorParallel == TensorParallelRequest(
            degrees: [2, 4], rules: ["*.w 0"], rulesFile: "/etc/rules", withoutDefaultRules: true, uneven: .arraySplit, cacheMiB: 64))
        let mount = received.mount
        #expect(mount.mountpoint == "/mnt/m" && mount.fuseOptions == ["allow_other"] && mount.allowsNonEmptyMountpoint)
        #expect(mount.ownership == FileOwnership(uid: 1000, gid: 1001, umask: 0o027))
        #expect(mount.readAheadKiB == nil && mount.threads == 3)
        #expect(mount.sourceName == "https://h.example/m.safetensors,/models/b.safetensors")
        let remote = received.remote
        #expect(remote.headers == [try HTTPHeader(parsing: "Authorization: Bearer secret-0451")])
        #expect(!remote.signS3Requests && remote.readTimeoutSeconds == 7 && remote.stallTimeoutSeconds == 2)
        #expect(remote.cacheDirectory == "/var/cache/t" && remote.cacheCapacity == 3 << 30)
        #expect(remote.partSize == 1 << 20 && remote.memoryBudget == 64 << 20)
    }

    @Test func defaultsGiveTheDocumentedMount() throws {
        let configuration = try MountCommand.parse(["/m.safetensors", "/mnt"]).configuration()
        #expect(configuration.layout == .tree && configuration.views == .defaults && !configuration.separate)
        #expect(configuration.tensorParallel == nil && configuration.logFile == nil && !configuration.debug)
        #expect(configuration.loadOptions == LoadOptions())
        #expect(configuration.mount == MountSettings(mountpoint: "/mnt", sourceName: "/m.safetensors"))
        #expect(configuration.remote.memoryBudget == 512 << 20 && configuration.remote.partSize == 8 << 20)
    }

    @Test func relativePathsAreMadeAbsoluteAndURLsAreLeftAlone() throws {
        let configuration = try MountCommand.parse([
            "--log-file", "l.log", "--cache-dir", "c", "--tp", "2", "--tp-rules", "r", "m.safetensors", "s3://b/k", "mnt",
        ]).configuration()
        let directory = currentDirectory()!
        #expect(configuration.sources == [directory + "/m.safetensors", "s3://b/k"])
        #expect(configuration.mount.mountpoint == directory + "/mnt")
        #expect(configuration.logFile == directory + "/l.log")
        #expect(configuration.remote.cacheDirectory == directory + "/c")
        #expect(configuration.tensorParallel?.rulesFile == directory + "/r")
    }

    @Test func theDaemonsCommandLineShowsNoSecret() throws {
        let configuration = try MountCommand.parse(Self.everyOption).configuration()
        let arguments = MountCommand.daemonArguments(for: configuration).joined(separator: " ")
        #expect(arguments == "mount --launcher-descriptor 3 -- https://h.example/m.safetensors /models/b.safetensors /mnt/m")
    }

    @Test func anEmptyViewListIsRefused() {
        for views in ["", ","] {
            #expect(throws: (any Error).self) { try MountCommand.parse(["--views", views, "/m.safetensors", "/mnt"]) }
        }
    }

    @Test func aUmaskIsOctalAndAtMostEveryPermissionBit() {
        #expect(Umask(argument: "022")?.bits == 0o22)
        #expect(Umask(argument: "0777")?.bits == 0o777)
        #expect(Umask(argument: "1000") == nil)
        #expect(Umask(argument: "8") == nil)
    }
}
