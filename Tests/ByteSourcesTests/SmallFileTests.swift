import Foundation
import SystemPackage
import Testing
@testable import ByteSources

/// Small files read whole (a Hugging Face ref or token, a rules file) are read as files only:
/// a FIFO fails at once, a link in a directory read without following links is not followed,
/// and a file over the limit is refused instead of read.
@Suite struct SmallFileTests {
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "tensorfs-small-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test func readsAFileWhole() throws {
        try Self.withDirectory { directory in
            try Data("abc123".utf8).write(to: URL(fileURLWithPath: directory + "/ref"))
            #expect(try SmallFile.read(directory + "/ref") == Array("abc123".utf8))
            #expect(try SmallFile.read("ref", in: OpenDirectory.open(directory)) == Array("abc123".utf8))
        }
    }

    @Test func aFIFOFailsAtOnceInsteadOfWaitingForAWriter() throws {
        try Self.withDirectory { directory in
            #expect(mkfifo(directory + "/ref", 0o600) == 0)
            #expect {
                try SmallFile.read(directory + "/ref")
            } throws: { error in
                if case .notARegularFile = error as? SmallFile.Failure { true } else { false }
            }
        }
    }

    @Test func aLinkInADirectoryIsNotFollowed() throws {
        try Self.withDirectory { directory in
            try Data("secret".utf8).write(to: URL(fileURLWithPath: directory + "/outside"))
            try FileManager.default.createDirectory(atPath: directory + "/refs", withIntermediateDirectories: false)
            #expect(symlink(directory + "/outside", directory + "/refs/main") == 0)
            #expect {
                try SmallFile.read("main", in: OpenDirectory.open(directory + "/refs"))
            } throws: { error in
                if case .system(.tooManySymbolicLinkLevels) = error as? SmallFile.Failure { true } else { false }
            }
        }
    }

    @Test func aFileOverTheLimitIsRefused() throws {
        try Self.withDirectory { directory in
            try Data(count: 5000).write(to: URL(fileURLWithPath: directory + "/token"))
            #expect {
                try SmallFile.read(directory + "/token", limit: 4096)
            } throws: { error in
                if case .tooLarge(size: 5000, limit: 4096) = error as? SmallFile.Failure { true } else { false }
            }
        }
    }
}
