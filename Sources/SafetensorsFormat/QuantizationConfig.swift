/// What tensorfs reads of a model's `config.json`: how its quantized weights share scales.
///
/// Only `quantization_config` counts: its `weight_block_size` (the FP8 block scaling of
/// DeepSeek-V3 and of transformers' `fp8` method), else the `block_structure` of the weights of
/// its compressed-tensors `config_groups`, when they all give the same one.
public struct QuantizationConfig: Sendable, Hashable {
    /// The rows and columns of the blocks of a weight that share one scale.
    public struct BlockSize: Sendable, Hashable, CustomStringConvertible {
        /// Rows per block (along the weight's second-to-last dimension).
        public var rows: UInt64
        /// Columns per block (along the weight's last dimension).
        public var columns: UInt64

        /// A block of `rows` by `columns` elements.
        public init(rows: UInt64, columns: UInt64) {
            self.rows = rows
            self.columns = columns
        }

        /// `128x128`.
        public var description: String { "\(rows)x\(columns)" }
    }

    /// Where in `config.json` the block size was found.
    public enum BlockSizeOrigin: String, Sendable, Hashable {
        case weightBlockSize = "quantization_config.weight_block_size"
        case configGroups = "quantization_config.config_groups.*.weights.block_structure"
    }

    /// The block size of block-scaled weights and where the config gives it.
    public struct BlockScaling: Sendable, Hashable {
        /// The rows and columns of a block.
        public var size: BlockSize
        /// Where in `config.json` the size was found.
        public var origin: BlockSizeOrigin

        /// Blocks of `size`, found at `origin`.
        public init(size: BlockSize, origin: BlockSizeOrigin) {
            self.size = size
            self.origin = origin
        }
    }

    /// `quantization_config.quant_method`, when the config names one.
    public var method: String?
    /// The block size of block-scaled weights, when the config gives one.
    public var blockScaling: BlockScaling?

    /// A config with `method` and `blockScaling`; by default one that says nothing of quantization.
    public init(method: String? = nil, blockScaling: BlockScaling? = nil) {
        self.method = method
        self.blockScaling = blockScaling
    }

    /// Parses the text of a `config.json` named `file`.
    public init(json: UnsafeRawBufferPointer, file: String) throws(SafetensorsError) {
        do throws(SafetensorsError.Problem) {
            if let offset = firstInvalidUTF8Offset(in: json) {
                throw .invalidConfig(reason: "not valid UTF-8 (at byte \(offset))")
            }
            var parser = QuantizationConfigParser(scanner: JSONScanner(text: json))
            self = try parser.parse()
        } catch let problem {
            if case .invalidJSON(let offset, let reason) = problem {
                throw SafetensorsError(file: file, problem: .invalidConfig(reason: "not valid JSON: \(reason) (at byte \(offset))"))
            }
            throw SafetensorsError(file: file, problem: problem)
        }
    }
}

/// Reads the members of `config.json` that make a `QuantizationConfig`, skipping the rest.
private struct QuantizationConfigParser {
    var scanner: JSONScanner

    mutating func parse() throws(SafetensorsError.Problem) -> QuantizationConfig {
        var config = QuantizationConfig()
        try forEachMember(depth: 1, of: "the config") { (parser, key) throws(SafetensorsError.Problem) in
            guard key == "quantization_config" else { return false }
            config = try parser.parseQuantization()
            return true
        }
        scanner.skipWhitespace()
        if !scanner.isAtEnd { throw scanner.error("trailing characters after the config object") }
        return config
    }

    private mutating func parseQuantization() throws(SafetensorsError.Problem) -> QuantizationConfig {
        var config = QuantizationConfig()
        if scanner.consumeLiteral("null") { return config }
        var groupBlocks: [QuantizationConfig.BlockSize?] = []
        try forEachMember(depth: 2, of: "quantization_config") { (parser, key) throws(SafetensorsError.Problem) in
            switch key {
            case "quant_method":
                parser.scanner.skipWhitespace()
                guard parser.scanner.current == UInt8(ascii: "\"") else { return false }
                config.method = parser.scanner.string(try parser.scanner.scanString())
            case "weight_block_size":
                config.blockScaling = try parser.parseBlockSize(named: "quantization_config.weight_block_size")
                    .map { QuantizationConfig.BlockScaling(size: $0, origin: .weightBlockSize) }
            case "config_groups":
                groupBlocks = try parser.parseGroupBlocks()
            default:
                return false
            }
            return true
        }
        if config.blockScaling == nil, let first = groupBlocks.lazy.compactMap({ $0 }).first {
            guard groupBlocks.allSatisfy({ $0 == nil || $0 == first }) else {
                let sizes = Set(groupBlocks.compactMap { $0?.description }).sorted().joined(separator: ", ")
                throw .invalidConfig(reason: "quantization_config.config_groups give different block_structure values (\(sizes)); one block size is needed")
            }
            config.blockScaling = QuantizationConfig.BlockScaling(size: first, origin: .configGroups)
        }
        return config
    }

    /// The `weights.block_structure` of each group of `config_groups` (nil where a group has none).
    private mutating func parseGroupBlocks() throws(SafetensorsError.Problem) -> [QuantizationConfig.BlockSize?] {
        var blocks: [QuantizationConfig.BlockSize?] = []
        try forEachMember(depth: 3, of: "quantization_config.config_groups") { (parser, group) throws(SafetensorsError.Problem) in
            var block: QuantizationConfig.BlockSize?
            try parser.forEachMember(depth: 4, of: "config group \(quoted(group))") { (parser, key) throws(SafetensorsError.Problem) in
                guard key == "weights" else { return false }
                if parser.scanner.consumeLiteral("null") { return true }
                try parser.forEachMember(depth: 5, of: "the weights of config group \(quoted(group))") { (parser, key) throws(SafetensorsError.Problem) in
                    guard key == "block_structure" else { return false }
                    block = try parser.parseBlockSize(named: "block_structure of config group \(quoted(group))")
                    return true
                }
                return true
            }
            blocks.append(block)
            return true
        }
        return blocks
    }

    /// `[rows, columns]`, two positive integers, or `null`.
    private mutating func parseBlockSize(named what: String) throws(SafetensorsError.Problem) -> QuantizationConfig.BlockSize? {
        if scanner.consumeLiteral("null") { return nil }
        let problem = SafetensorsError.Problem.invalidConfig(reason: "\(what) is not two positive integers")
        guard scanner.consumeIfPresent(UInt8(ascii: "[")) else { throw problem }
        var values: [UInt64] = []
        if !scanner.consumeIfPresent(UInt8(ascii: "]")) {
            repeat {
                guard let value = try? scanner.scanUnsignedInteger(what), value > 0 else { throw problem }
                values.append(value)
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "]"), "',' or ']'")
        }
        guard values.count == 2 else { throw problem }
        return QuantizationConfig.BlockSize(rows: values[0], columns: values[1])
    }

    /// Walks the members of the object that comes next, whose members sit at nesting level
    /// `depth`: `member` reads a member's value and returns true, or returns false to have it
    /// skipped.
    private mutating func forEachMember(
        depth: Int, of what: String,
        _ member: (inout QuantizationConfigParser, String) throws(SafetensorsError.Problem) -> Bool
    ) throws(SafetensorsError.Problem) {
        try scanner.checkDepth(depth)
        guard scanner.consumeIfPresent(UInt8(ascii: "{")) else {
            throw .invalidConfig(reason: "\(what) is not a JSON object")
        }
        if scanner.consumeIfPresent(UInt8(ascii: "}")) { return }
        repeat {
            let key = scanner.string(try scanner.scanString())
            try scanner.expect(UInt8(ascii: ":"), "':'")
            if try !member(&self, key) { try scanner.skipValue(depth: depth + 1) }
        } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
    }
}
