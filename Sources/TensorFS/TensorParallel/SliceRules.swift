import ByteSources
import SafetensorsFormat

/// An ordered list of slicing rules: the first rule whose pattern matches a tensor's name
/// decides how it is cut; a tensor that no rule matches is replicated to every rank.
public struct SliceRules: Hashable, Sendable {
    /// The rules, first match wins.
    public var rules: [SliceRule]

    /// Creates a list of rules.
    public init(_ rules: [SliceRule]) {
        self.rules = rules
    }

    /// The first rule matching `name`, or nil when the tensor is to be replicated by default.
    public func rule(for name: String) -> SliceRule? {
        var copy = name
        return copy.withUTF8 { bytes in
            rules.first { $0.pattern.matches(UnsafeRawBufferPointer(bytes)) }
        }
    }

    /// The defaults, written as a rules file, for Llama, Mistral, Mixtral and Qwen style names:
    /// column-parallel projections (and their biases) split on dimension 0, row-parallel ones on
    /// dimension 1 with their biases replicated, embeddings and the LM head split on the
    /// vocabulary (dimension 0). Norms and everything else match nothing and are replicated.
    public static let defaultRulesText = """
        *.q_proj.weight 0
        *.k_proj.weight 0
        *.v_proj.weight 0
        *.q_proj.bias 0
        *.k_proj.bias 0
        *.v_proj.bias 0
        *.gate_proj.weight 0
        *.up_proj.weight 0
        *.gate_proj.bias 0
        *.up_proj.bias 0
        *.o_proj.weight 1
        *.down_proj.weight 1
        *.o_proj.bias replicate
        *.down_proj.bias replicate
        *.experts.*.w1.weight 0
        *.experts.*.w3.weight 0
        *.experts.*.w2.weight 1
        *.embed_tokens.weight 0
        lm_head.weight 0
        """

    /// The default rules (see `defaultRulesText`).
    public static let defaults: SliceRules = {
        do {
            return try SliceRules(parsing: defaultRulesText, file: "default rules")
        } catch {
            fatalError("the default rules do not parse: \(error)")
        }
    }()

    /// Parses a rules file: one `PATTERN ACTION` rule per line (see `SliceRule`); blank lines
    /// and lines starting with `#` are skipped. Errors name `file` and the line.
    public init(parsing text: String, file: String) throws(TensorParallelError) {
        var rules: [SliceRule] = []
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let content = line.drop { $0 == " " || $0 == "\t" }.trimmingSuffix { $0 == " " || $0 == "\t" }
            if content.isEmpty || content.first == "#" { continue }
            rules.append(try SliceRule(parsing: content, origin: "\(file):\(index + 1)"))
        }
        self.rules = rules
    }

    /// Reads and parses the rules file at `path`.
    public init(contentsOf path: String) throws(TensorParallelError) {
        let text: String
        do {
            let file = try MappedFile(path: path, displayName: path)
            text = String(decoding: try file.copyBytes(in: ByteRange(start: 0, end: file.size)), as: UTF8.self)
        } catch {
            throw .rule(origin: path, reason: "cannot read the rules file: \(error.reason)")
        }
        try self.init(parsing: text, file: path)
    }
}

extension Substring {
    /// The substring without the trailing characters that satisfy `predicate`.
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
