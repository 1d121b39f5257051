import Testing
@testable import TensorFS

/// Glob patterns and the rules that decide how each tensor is cut.
@Suite("tensor-parallel rules")
struct TensorParallelRulesTests {
    private func glob(_ text: String) -> GlobPattern { GlobPattern(text)! }

    @Test("a star matches any run of characters, dots included, and the whole name must match")
    func star() {
        #expect(glob("*.q_proj.weight").matches("model.layers.0.self_attn.q_proj.weight"))
        #expect(!glob("*.q_proj.weight").matches("model.layers.0.self_attn.q_proj.weight.absmax"))
        #expect(!glob("*.q_proj.weight").matches("q_proj.weight"))
        #expect(glob("*").matches(""))
        #expect(glob("a*b*c").matches("aXbYbZc"))
        #expect(!glob("a*b*c").matches("aXbYbZ"))
        #expect(glob("*.experts.*.w1.weight").matches("model.layers.3.block_sparse_moe.experts.7.w1.weight"))
    }

    @Test("a question mark matches exactly one character, however many bytes it takes")
    func questionMark() {
        #expect(glob("layer.?.weight").matches("layer.7.weight"))
        #expect(!glob("layer.?.weight").matches("layer.12.weight"))
        #expect(glob("?.w").matches("é.w"))
        #expect(glob("*?").matches("é"))
        #expect(!glob("?").matches(""))
    }

    @Test("a backslash makes the next character literal; a lone trailing one is refused")
    func escapes() {
        #expect(glob(#"a\*b"#).matches("a*b"))
        #expect(!glob(#"a\*b"#).matches("axb"))
        #expect(glob(#"a\?"#).matches("a?"))
        #expect(GlobPattern(#"a\"#) == nil)
    }

    @Test("the default rules cut column-parallel layers on 0, row-parallel on 1, and replicate the rest")
    func defaults() {
        let rules = SliceRules.defaults
        let cases: [(String, SliceAction?)] = [
            ("model.embed_tokens.weight", .split(dimension: 0)),
            ("lm_head.weight", .split(dimension: 0)),
            ("model.layers.0.self_attn.q_proj.weight", .split(dimension: 0)),
            ("model.layers.0.self_attn.k_proj.bias", .split(dimension: 0)),
            ("model.layers.0.self_attn.v_proj.weight", .split(dimension: 0)),
            ("model.layers.0.self_attn.o_proj.weight", .split(dimension: 1)),
            ("model.layers.0.self_attn.o_proj.bias", .replicate),
            ("model.layers.0.mlp.gate_proj.weight", .split(dimension: 0)),
            ("model.layers.0.mlp.up_proj.weight", .split(dimension: 0)),
            ("model.layers.0.mlp.down_proj.weight", .split(dimension: 1)),
            ("model.layers.0.mlp.down_proj.bias", .replicate),
            ("model.layers.0.block_sparse_moe.experts.3.w1.weight", .split(dimension: 0)),
            ("model.layers.0.block_sparse_moe.experts.3.w2.weight", .split(dimension: 1)),
            ("model.layers.0.block_sparse_moe.gate.weight", nil),
            ("model.layers.0.input_layernorm.weight", nil),
            ("model.norm.weight", nil),
        ]
        for (name, action) in cases {
            #expect(rules.rule(for: name)?.action == action, "\(name)")
        }
    }

    @Test("a rules file skips blanks and comments, and the first matching rule wins")
    func parsing() throws {
        let text = """
            # attention
            *.wq.weight   0
            \t*.wo.weight\t-1\r
            *.wq.*  replicate

            """
        let rules = try SliceRules(parsing: text, file: "rules.txt")
        #expect(rules.rules.map(\.action) == [.split(dimension: 0), .split(dimension: -1), .replicate])
        #expect(rules.rules.map(\.origin) == ["rules.txt:2", "rules.txt:3", "rules.txt:4"])
        #expect(rules.rule(for: "layers.0.attention.wq.weight")?.action == .split(dimension: 0))
        #expect(rules.rule(for: "layers.0.attention.wq.bias")?.action == .replicate)
        #expect(rules.rule(for: "norm.weight") == nil)
    }

    @Test("a malformed rule is refused with the file and line", arguments: [
        ("*.w 0 1", "expected `PATTERN DIMENSION` or `PATTERN replicate`"),
        ("*.w", "expected `PATTERN DIMENSION` or `PATTERN replicate`"),
        ("*.w zero", "`zero` is neither a dimension"),
        ("*.w +1", "`+1` is neither a dimension"),
        ("*.w 1.5", "`1.5` is neither a dimension"),
        (#"*.w\ 0"#, "ends in a lone"),
    ])
    func malformed(line: String, reason: String) {
        do {
            _ = try SliceRules(parsing: "# first\n" + line, file: "rules.txt")
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.description.hasPrefix("rules.txt:2: "), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a rules file that cannot be read is named in the error")
    func unreadable() {
        #expect(throws: TensorParallelError.self) { try SliceRules(contentsOf: "/nonexistent/rules.txt") }
        do {
            _ = try SliceRules(contentsOf: "/nonexistent/rules.txt")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/rules.txt: cannot read the rules file"))
        }
    }
}
