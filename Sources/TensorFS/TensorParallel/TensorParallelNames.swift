/// The names of the tensor-parallel directories: `tp-N` at a model's root, `rank-R` inside it.
enum TensorParallelNames {
    /// The directory holding the ranks of an `degree`-way split.
    static func degreeDirectory(_ degree: Int) -> [UInt8] {
        Array("tp-\(degree)".utf8)
    }

    /// The directory of one rank.
    static func rankDirectory(_ rank: Int) -> [UInt8] {
        Array("rank-\(rank)".utf8)
    }

    /// Whether `component` is spelled like a degree directory: `tp-` and one or more digits.
    static func isDegreeDirectoryName(_ component: some Collection<UInt8>) -> Bool {
        let prefix = "tp-".utf8
        return component.count > prefix.count && component.starts(with: prefix)
            && component.dropFirst(prefix.count).allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Rewrites a tensor's first path component that is spelled like a degree directory so that
    /// the two never meet: `tp-8` becomes `tp%2D8` (a reversible `NameEscaping` escape).
    static func escapeDegreeDirectoryName(_ component: inout [UInt8]) {
        guard isDegreeDirectoryName(component) else { return }
        component.replaceSubrange(2..<3, with: "%2D".utf8)
    }
}
