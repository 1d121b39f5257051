import ByteSources
import FuseBridge
import RemoteSources
import TensorFS
@testable import Mounting
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct LogDestinationTests {
    @Test func aLogFileThatIsAFIFOIsRefusedWithoutWaitingForAReader() throws {
        let directory = try #require(mkdtemp(strdup("/tmp/tensorfs-log-test-XXXXXX")).map { String(cString: $0) })
        defer { rmdir(directory) }
        let fifo = directory + "/log"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let configuration = MountConfiguration.plain(logFile: fifo)
        #expect(throws: LogFileError(path: fifo, reason: "not a regular file")) {
            try LogDestination.open(for: configuration, foreground: false)
        }
    }

    @Test func aLogFileIsCreatedAndAppendedTo() throws {
        let directory = try #require(mkdtemp(strdup("/tmp/tensorfs-log-test-XXXXXX")).map { String(cString: $0) })
        let path = directory + "/daemon.log"
        defer {
            unlink(path)
            rmdir(directory)
        }
        let log = try LogDestination.open(for: MountConfiguration.plain(logFile: path), foreground: false)
        log.write(.info, "hello")
        close(log.descriptor)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_size > 0)
    }
}

extension MountConfiguration {
    /// A mount of one local file with every default, logging to `logFile`.
    static func plain(logFile: String?) -> MountConfiguration {
        MountConfiguration(
            sources: ["/m.safetensors"], loadOptions: LoadOptions(), layout: .tree, views: .defaults, separate: false, tensorParallel: nil,
            remote: RemoteSettings(environment: [:]), mount: MountSettings(mountpoint: "/mnt"), logFile: logFile, debug: false)
    }
}
