import SafetensorsFormat

/// Where one tensor's file goes: escaped, cut-to-fit path components below the model's root.
struct TensorPath {
    var directories: [[UInt8]]
    var file: [UInt8]
}

/// Computes tensor paths for one model under a layout, applying `NameEscaping`.
struct TensorPathPlanner {
    /// Suffixes of generated files beside a tensor file; a tensor named like another tensor
    /// plus one of these has its dots escaped so that the two never clash.
    static let viewSuffixes = [".json", ".npy"]
    /// Files generated at a model's root.
    static let reservedRootNames = ["__metadata__.json", "model.safetensors"]

    private let layout: Layout
    private let names: NameTable

    init(names: some Collection<String>, layout: Layout) {
        self.layout = layout
        var table = NameTable(minimumCapacity: names.count, byteCount: names.reduce(0) { $0 + $1.utf8.count })
        for name in names { _ = table.insert(name) }
        self.names = table
    }

    /// The path of tensor `name`, as arrays.
    func path(of name: String) -> TensorPath {
        var path = TensorPath(directories: [], file: [])
        forEachComponent(of: name) { component, isFile in
            if isFile { path.file = Array(component) } else { path.directories.append(Array(component)) }
        }
        return path
    }

    /// Calls `visit` with each component of the path of tensor `name`, in order: directories
    /// (`isFile` false), then the file. A component needing no escape is passed without a copy.
    func forEachComponent(of name: String, _ visit: (UnsafeRawBufferPointer, _ isFile: Bool) -> Void) {
        var name = name
        name.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            let fileStart = layout == .tree ? fileStart(in: bytes) : 0
            let file = UnsafeRawBufferPointer(rebasing: bytes[fileStart...])
            var segmentStart = 0
            for position in 0..<fileStart where bytes[position] == UInt8(ascii: ".") {
                let segment = UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<position])
                visitComponent(segment, escapingDots: false, isFile: false, atRoot: segmentStart == 0, visit)
                segmentStart = position + 1
            }
            let escapeDots = clashesWithGeneratedFile(name: bytes, isAtRoot: fileStart == 0, file: file)
            visitComponent(file, escapingDots: escapeDots, isFile: true, atRoot: fileStart == 0, visit)
        }
    }

    /// Escapes `component` and cuts it to fit; only the last piece of a file is the file. A
    /// component at the model's root spelled like a tensor-parallel directory is escaped too.
    private func visitComponent(
        _ component: UnsafeRawBufferPointer, escapingDots: Bool, isFile: Bool, atRoot: Bool,
        _ visit: (UnsafeRawBufferPointer, _ isFile: Bool) -> Void
    ) {
        let mayBeDegreeDirectory = atRoot && component.count > 3 && component[0] == UInt8(ascii: "t")
            && component[1] == UInt8(ascii: "p") && component[2] == UInt8(ascii: "-")
        if NameEscaping.isPlain(component, escapingDots: escapingDots) && !mayBeDegreeDirectory {
            return visit(component, isFile)
        }
        var pieces = NameEscaping.pieces(of: NameEscaping.escape(component, escapingDots: escapingDots))
        if atRoot { TensorParallelNames.escapeDegreeDirectoryName(&pieces[0]) }
        for (number, piece) in pieces.enumerated() {
            piece.withUnsafeBytes { visit($0, isFile && number == pieces.count - 1) }
        }
    }

    /// Where the file component of a name starts in the tree layout: after the last `.`, or
    /// where a shorter name that is itself a tensor stands in the way of a directory (that
    /// tensor's file is there: the rest of the name stays joined, beside it).
    private func fileStart(in name: UnsafeRawBufferPointer) -> Int {
        var segmentStart = 0
        for position in 0..<name.count where name[position] == UInt8(ascii: ".") {
            if names.contains(UnsafeRawBufferPointer(rebasing: name[..<position])) { return segmentStart }
            segmentStart = position + 1
        }
        return segmentStart
    }

    private func clashesWithGeneratedFile(name: UnsafeRawBufferPointer, isAtRoot: Bool, file: UnsafeRawBufferPointer) -> Bool {
        for suffix in TensorPathPlanner.viewSuffixBytes where name.count > suffix.count {
            let stem = UnsafeRawBufferPointer(rebasing: name[..<(name.count - suffix.count)])
            let tail = UnsafeRawBufferPointer(rebasing: name[(name.count - suffix.count)...])
            if suffix.withUnsafeBytes(tail.hasSameBytes(as:)) && names.contains(stem) { return true }
        }
        return isAtRoot && TensorPathPlanner.reservedRootNameBytes.contains { $0.withUnsafeBytes(file.hasSameBytes(as:)) }
    }

    private static let viewSuffixBytes = viewSuffixes.map { Array($0.utf8) }
    private static let reservedRootNameBytes = reservedRootNames.map { Array($0.utf8) }
}
