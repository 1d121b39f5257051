/// The paths a model's companion files take (`config.json`, `1_Pooling/config.json`), which
/// tensors' files and directories must not take too: a tensor whose path would meet one is
/// renamed by the escaping rule's clash case.
struct CompanionPaths: Sendable {
    /// Each companion file's path, components joined with `/`.
    private var files: Set<[UInt8]> = []
    /// Each folder that holds a companion file, at any depth.
    private var folders: Set<[UInt8]> = []

    /// The paths of `companions` (relative paths, components joined with `/`).
    init(_ companions: some Sequence<String>) {
        for path in companions {
            let bytes = Array(path.utf8)
            files.insert(bytes)
            for (position, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
                folders.insert(Array(bytes[..<position]))
            }
        }
    }

    /// Whether there are none: then no path needs checking.
    var isEmpty: Bool { files.isEmpty }

    /// Whether `path` is a companion file's.
    func isFile(_ path: [UInt8]) -> Bool { files.contains(path) }

    /// Whether `path` is a companion file's, or a folder holding one.
    func isTaken(_ path: [UInt8]) -> Bool { files.contains(path) || folders.contains(path) }
}
