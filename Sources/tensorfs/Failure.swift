import Mounting
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Prints `message` as the one line a failed command leaves on stderr, then exits with 1.
func fail(_ message: String) -> Never {
    Terminal.printLine("tensorfs: \(message)")
    exit(1)
}

/// Writes bytes to stdout in full.
func writeOut(_ bytes: [UInt8]) {
    do {
        _ = try FileDescriptor.standardOutput.writeAll(bytes)
    } catch {
        exit(1)
    }
}
