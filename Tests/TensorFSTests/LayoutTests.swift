import Testing
@testable import TensorFS

/// Where each tensor's file goes under the tree and flat layouts.
@Suite("tensor paths")
struct LayoutTests {
    /// The path of `name` among `names` (beside companion files at `companions`), as text with
    /// `/` between components.
    static func path(of name: String, among names: [String], layout: Layout = .tree, companions: [String] = []) -> String {
        let path = TensorPathPlanner(names: names, layout: layout, companions: CompanionPaths(companions)).path(of: name)
        return (path.directories + [path.file]).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
    }

    static func paths(_ names: [String], layout: Layout = .tree, companions: [String] = []) -> [String] {
        names.map { path(of: $0, among: names, layout: layout, companions: companions) }
    }

    @Test("the tree layout splits names at dots")
    func treeSplitsAtDots() {
        #expect(Self.paths(["model.layers.0.self_attn.q_proj.weight"]) == ["model/layers/0/self_attn/q_proj/weight"])
        #expect(Self.paths(["lm_head"]) == ["lm_head"])
    }

    @Test("the flat layout keeps each name whole at the root")
    func flatKeepsNamesWhole() {
        #expect(Self.paths(["model.layers.0.weight", "a/b"], layout: .flat) == ["model.layers.0.weight", "a%2Fb"])
    }

    @Test("a tensor named like the start of others keeps their rest joined beside it (bitsandbytes)")
    func prefixNames() {
        let names = ["x.weight", "x.weight.absmax", "x.weight.quant_map", "x.weight.quant_state.bitsandbytes__nf4", "x.bias"]
        #expect(Self.paths(names) == [
            "x/weight", "x/weight.absmax", "x/weight.quant_map", "x/weight.quant_state.bitsandbytes__nf4", "x/bias",
        ])
    }

    @Test("only the shortest name that is a tensor decides where the rest joins")
    func nestedPrefixes() {
        #expect(Self.paths(["a.b", "a.b.c", "a.b.c.d"]) == ["a/b", "a/b.c", "a/b.c.d"])
        #expect(Self.paths(["a", "a.b.c"]) == ["a", "a.b.c"])
    }

    @Test("a tensor named like another's view file has its dots escaped", arguments: [Layout.tree, .flat])
    func viewSuffixClash(layout: Layout) {
        #expect(Self.paths(["w", "w.json", "w.npy"], layout: layout) == ["w", "w%2Ejson", "w%2Enpy"])
        #expect(Self.paths(["w.json"], layout: .flat) == ["w.json"])
    }

    @Test("a tensor named like a view of another's view file has its dots escaped, so that no view looks like a tensor's file", arguments: [Layout.tree, .flat])
    func viewOfViewClash(layout: Layout) {
        #expect(Self.paths(["w", "w.json.json", "w.json.npy"], layout: layout) == ["w", "w%2Ejson%2Ejson", "w%2Ejson%2Enpy"])
        #expect(Self.paths(["a.w", "a.w.npy.json"]) == ["a/w", "a/w%2Enpy%2Ejson"])
        #expect(Self.paths(["w.json.json"], layout: layout) == [layout == .tree ? "w/json/json" : "w.json.json"])
    }

    @Test("a tensor named like another plus the start of a view suffix that leaves a suffix has its dots escaped, so that its .npy is not the other's .f32.npy", arguments: [Layout.tree, .flat])
    func cutSuffixClash(layout: Layout) {
        #expect(Self.paths(["w", "w.f32"], layout: layout) == ["w", "w%2Ef32"])
        #expect(Self.paths(["w", "w.json.f32"], layout: layout) == ["w", "w%2Ejson%2Ef32"])
        #expect(Self.paths(["w", "w.f32.json"], layout: layout) == ["w", "w.f32.json"])
        #expect(Self.paths(["w.f32"], layout: layout) == [layout == .tree ? "w/f32" : "w.f32"])
    }

    @Test("a tensor named like a generated root file has its dots escaped")
    func reservedRootNames() {
        #expect(Self.paths(["model.safetensors", "__metadata__.json"], layout: .flat) == ["model%2Esafetensors", "__metadata__%2Ejson"])
        #expect(Self.paths(["model", "model.safetensors"]) == ["model", "model%2Esafetensors"])
        #expect(Self.paths(["model.safetensors"]) == ["model/safetensors"])
    }

    @Test("empty segments, dots and unsafe bytes are escaped in the tree")
    func hostileSegments() {
        #expect(Self.paths([""]) == ["%"])
        #expect(Self.paths(["."]) == ["%/%"])
        #expect(Self.paths([".."]) == ["%/%/%"])
        #expect(Self.paths(["a..b"]) == ["a/%/b"])
        #expect(Self.paths(["a/b.c"]) == ["a%2Fb/c"])
        #expect(Self.paths(["a.", "a.."]) == ["a/%", "a/%2E"])
    }

    @Test("a long segment becomes directories marked %+ and a last piece")
    func longSegments() {
        let long = String(repeating: "s", count: 600)
        let path = Self.path(of: "a.\(long).b", among: ["a.\(long).b"])
        #expect(path == "a/" + String(repeating: "s", count: 250) + "%+/" + String(repeating: "s", count: 250) + "%+/" + String(repeating: "s", count: 100) + "/b")
    }

    @Test("every path decodes back to its tensor's name", arguments: [Layout.tree, .flat])
    func reversible(layout: Layout) {
        for name in LayoutTests.hostileNames {
            let path = TensorPathPlanner(names: LayoutTests.hostileNames, layout: layout).path(of: name)
            let components = (path.directories + [path.file]).map { String(decoding: $0, as: UTF8.self) }
            #expect(NameEscaping.name(fromComponents: components).map { Array($0.utf8) } == Array(name.utf8), "\(components)")
        }
    }

    /// Names that test every escape and clash at once.
    static let hostileNames: [String] = [
        "", ".", "..", "...", "a", "a.", "a..", "a.b", "a.b.json", "a.json", "a.npy", "a/b", "a\u{0}b", "%", "%2E",
        "model.safetensors", "model", "__metadata__.json", "x.weight", "x.weight.absmax",
        "x.weight.quant_state.bitsandbytes__nf4", String(repeating: "n", count: 600),
        String(repeating: "p", count: 250) + "..", "q." + String(repeating: "q", count: 300) + ".r",
        "e\u{301}", "\u{e9}", "日本.語", "🙂",
    ]
}
