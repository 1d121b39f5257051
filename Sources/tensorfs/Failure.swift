import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Prints `message` as the one line a failed command leaves on stderr, then exits with 1.
func fail(_ message: String) -> Never {
    printError("tensorfs: \(message)")
    exit(1)
}

/// Writes a line to stderr.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Writes bytes to stdout in full.
func writeOut(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { exit(1) }
        offset += written
    }
}
