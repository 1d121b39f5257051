import SafetensorsFormat

/// Where one tensor's file goes: escaped, cut-to-fit path components below the model's root.
struct TensorPath {
    var directories: [[UInt8]]
    var file: [UInt8]
}

/// Computes tensor paths for one model under a layout, applying `NameEscaping`.
struct TensorPathPlanner: Sendable {
    /// Suffixes of the files beside a tensor file (every view's, chosen or not, so that paths
    /// do not depend on options); a tensor named like another tensor plus one of these has its
    /// dots escaped so that the two never clash.
    static let viewSuffixes = TensorViews.suffixes.filter { !$0.isEmpty }.map(Array.init)
    /// Files generated at a model's root.
    static let reservedRootNames = ModelFileKind.allCases.map(\.fileName)

    private let layout: Layout
    private let names: NameTable
    private let companions: CompanionPaths

    init(names: some Collection<String>, layout: Layout, companions: CompanionPaths = CompanionPaths([])) {
        var table = NameTable(minimumCapacity: names.count, byteCount: names.reduce(0) { $0 + $1.utf8.count })
        for name in names { _ = table.insert(name) }
        self.init(nameTable: table, layout: layout, companions: companions)
    }

    /// A planner for the tensors of `model`: its table of names when loading made one (it is
    /// taken), else one made now.
    init(for model: LogicalModel, layout: Layout) {
        let companions = CompanionPaths(model.companions.map(\.relativePath))
        if let names = model.takeTensorNames() {
            self.init(nameTable: names, layout: layout, companions: companions)
        } else {
            self.init(names: model.tensors.lazy.map(\.name), layout: layout, companions: companions)
        }
    }

    /// A planner for the tensors named in `nameTable`, beside `companions`.
    init(nameTable: NameTable, layout: Layout, companions: CompanionPaths) {
        self.layout = layout
        names = nameTable
        self.companions = companions
    }

    /// The path of tensor `name`, as arrays.
    func path(of name: String) -> TensorPath {
        var components = PathComponents()
        defer { components.deallocate() }
        plan(name, into: &components)
        let range = components.components(ofPath: 0)
        let directories = range.dropLast().map { Array(components.component($0)) }
        return TensorPath(directories: directories, file: Array(components.component(range.last!)))
    }

    /// Adds the path of tensor `name` to `components`: directories, then the file.
    func plan(_ name: String, into components: inout PathComponents) {
        defer { components.endPath() }
        var name = name
        name.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            let fileStart = layout == .tree ? fileStart(in: bytes) : 0
            let file = UnsafeRawBufferPointer(rebasing: bytes[fileStart...])
            // The directories so far, while they may still meet a companion's path.
            var companionDirectory: [UInt8]? = companions.isEmpty ? nil : []
            var segmentStart = 0
            for position in 0..<fileStart where bytes[position] == UInt8(ascii: ".") {
                let segment = UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<position])
                companionDirectory = appendDirectory(segment, in: companionDirectory, atRoot: segmentStart == 0, to: &components)
                segmentStart = position + 1
            }
            var escapeDots = clashesWithGeneratedFile(name: bytes, isAtRoot: fileStart == 0, file: file)
            if !escapeDots, let directory = companionDirectory, NameEscaping.isPlain(file) {
                escapeDots = clashesWithCompanion(file: file, in: directory)
            }
            append(file, escapingDots: escapeDots, escapingFirstByte: escapeDots && !file.contains(UInt8(ascii: ".")), atRoot: fileStart == 0, to: &components)
        }
    }

    /// Adds the entry of tensor `name` at the model's root to `components`: the first directory
    /// of its path, or when the tensor lies in no directory of its own, its whole path. Returns
    /// whether it added the whole path. Only the first `.` is looked at: a name that is not
    /// the start of another's goes in the directory named by its part before the first `.`.
    func planRootEntry(_ name: String, into components: inout PathComponents) -> Bool {
        var name = name
        let firstDirectory = layout == .flat ? nil : name.withUTF8 { utf8 -> Bool? in
            let bytes = UnsafeRawBufferPointer(utf8)
            guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")), !names.contains(UnsafeRawBufferPointer(rebasing: bytes[..<dot])) else { return nil }
            _ = appendDirectory(UnsafeRawBufferPointer(rebasing: bytes[..<dot]), in: companions.isEmpty ? nil : [], atRoot: true,
                                firstPieceOnly: true, to: &components)
            components.endPath()
            return true
        }
        if firstDirectory != nil { return false }
        plan(name, into: &components)
        return true
    }

    /// Appends the directory named by `segment` of a tensor's name, in `companionDirectory`
    /// (the path so far, while it may still meet a companion file's path), escaped and cut to
    /// fit (only its first piece with `firstPieceOnly`). A directory that would take a
    /// companion file's path has its first byte escaped. Returns the path it makes, while it
    /// may still meet a companion's.
    private func appendDirectory(
        _ segment: UnsafeRawBufferPointer, in companionDirectory: [UInt8]?, atRoot: Bool, firstPieceOnly: Bool = false,
        to components: inout PathComponents
    ) -> [UInt8]? {
        let path = companionDirectory.map { Self.joined($0, segment) }
        let clashes = path.map { companions.isFile($0) && NameEscaping.isPlain(segment) } ?? false
        append(segment, escapingDots: false, escapingFirstByte: clashes, atRoot: atRoot, firstPieceOnly: firstPieceOnly, to: &components)
        return clashes ? nil : path
    }

    /// `directory/component`, or `component` at the root.
    private static func joined(_ directory: [UInt8], _ component: UnsafeRawBufferPointer) -> [UInt8] {
        directory.isEmpty ? Array(component) : directory + [UInt8(ascii: "/")] + Array(component)
    }

    /// Whether a tensor's file named `file` in `directory`, or one of its views, would take a
    /// companion file's path (or a folder holding companions).
    private func clashesWithCompanion(file: UnsafeRawBufferPointer, in directory: [UInt8]) -> Bool {
        let path = Self.joined(directory, file)
        return companions.isTaken(path) || TensorPathPlanner.viewSuffixes.contains { companions.isTaken(path + $0) }
    }

    /// Appends `component` escaped and cut to fit (a cut file's pieces but the last are
    /// directories). A component at the model's root spelled like a tensor-parallel directory
    /// is escaped too.
    private func append(
        _ component: UnsafeRawBufferPointer, escapingDots: Bool, escapingFirstByte: Bool, atRoot: Bool, firstPieceOnly: Bool = false,
        to components: inout PathComponents
    ) {
        let isDegreeDirectory = atRoot && TensorParallelNames.isDegreeDirectoryName(component)
        if NameEscaping.isPlain(component, escapingDots: escapingDots) && !isDegreeDirectory && !escapingFirstByte {
            return components.append(component)
        }
        var pieces = NameEscaping.pieces(of: NameEscaping.escape(component, escapingDots: escapingDots, escapingFirstByte: escapingFirstByte))
        if atRoot { TensorParallelNames.escapeDegreeDirectoryName(&pieces[0]) }
        for piece in firstPieceOnly ? [pieces[0]] : pieces {
            piece.withUnsafeBytes { components.append($0) }
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

    /// Whether the tensor `name` (whose file component is `file`) would clash with a generated
    /// file: with a view of another tensor beside it (`w.json` beside a tensor `w`), or with a
    /// view of such a view (`w.json.json`, which would make `w.json` look like a tensor's file),
    /// or, at the root, with a model file.
    private func clashesWithGeneratedFile(name: UnsafeRawBufferPointer, isAtRoot: Bool, file: UnsafeRawBufferPointer) -> Bool {
        if endsInViewsOfATensor(name) { return true }
        return isAtRoot && TensorPathPlanner.reservedRootNameBytes.contains { $0.withUnsafeBytes(file.hasSameBytes(as:)) }
    }

    /// Whether `name` is a tensor's name followed by one or more view suffixes, the last of
    /// which may be a view's suffix cut short of another's (`w.f32` beside `w`: its `w.f32.npy`
    /// would be `w`'s).
    private func endsInViewsOfATensor(_ name: UnsafeRawBufferPointer, lastMayBeCut: Bool = true) -> Bool {
        for suffix in lastMayBeCut ? TensorPathPlanner.clashingEndings : TensorPathPlanner.viewSuffixes where name.count > suffix.count {
            let stem = UnsafeRawBufferPointer(rebasing: name[..<(name.count - suffix.count)])
            let tail = UnsafeRawBufferPointer(rebasing: name[(name.count - suffix.count)...])
            if suffix.withUnsafeBytes(tail.hasSameBytes(as:)) && (names.contains(stem) || endsInViewsOfATensor(stem, lastMayBeCut: false)) {
                return true
            }
        }
        return false
    }

    /// The view suffixes, and each view suffix's start that leaves another one (`.f32` of
    /// `.f32.npy`, which leaves `.npy`).
    private static let clashingEndings: [[UInt8]] = viewSuffixes + viewSuffixes.flatMap { long in
        viewSuffixes.filter { long.count > $0.count && long.reversed().starts(with: $0.reversed()) }.map { Array(long.dropLast($0.count)) }
    }

    private static let reservedRootNameBytes = reservedRootNames.map { Array($0.utf8) }
}
