import Testing
import SafetensorsFormat

/// What tensorfs reads of a model's `config.json`: the block size of block-scaled weights.
@Suite("quantization config")
struct QuantizationConfigTests {
    static let name = "model/config.json"

    private func parse(_ json: String) throws(SafetensorsError) -> QuantizationConfig {
        try withBytes(of: Array(json.utf8)) { buffer throws(SafetensorsError) in
            try QuantizationConfig(json: buffer, file: QuantizationConfigTests.name)
        }
    }

    /// The reason `json` is refused for, checking that it is refused on one line naming the file.
    private func rejection(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        do {
            let config = try parse(json)
            Issue.record("expected a rejection, got \(config)", sourceLocation: sourceLocation)
            return nil
        } catch {
            expectOneLine(error, file: QuantizationConfigTests.name, sourceLocation: sourceLocation)
            guard case .invalidConfig(let reason) = error.problem else {
                Issue.record("expected invalidConfig, got \(error.problem)", sourceLocation: sourceLocation)
                return nil
            }
            return reason
        }
    }

    @Test("DeepSeek-V3's quantization_config gives its method and 128x128 blocks")
    func deepSeek() throws {
        let config = try parse("""
            {"architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 7168, "rope_scaling": {"factor": 40, "type": "yarn"},
             "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]},
             "torch_dtype": "bfloat16", "tie_word_embeddings": false, "rms_norm_eps": 1e-06}
            """)
        #expect(config == QuantizationConfig(method: "fp8", blockScaling: .init(size: .init(rows: 128, columns: 128), origin: .weightBlockSize)))
    }

    @Test("a config without quantization, or with a null one, or with a null block size gives no block size")
    func noBlockSize() throws {
        #expect(try parse(#"{"hidden_size": 64, "architectures": ["BertModel"]}"#) == QuantizationConfig())
        #expect(try parse(#"{"quantization_config": null}"#) == QuantizationConfig())
        #expect(try parse(#"{"quantization_config": {"quant_method": "fp8", "weight_block_size": null}}"#) == QuantizationConfig(method: "fp8"))
        #expect(try parse(#" {} "#) == QuantizationConfig())
    }

    @Test("compressed-tensors groups that agree on a block_structure give it; groups without one are ignored")
    func compressedTensors() throws {
        let config = try parse("""
            {"quantization_config": {"quant_method": "compressed-tensors", "format": "float-quantized",
             "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "float", "strategy": "block", "block_structure": [64, 32]}},
                               "group_1": {"targets": ["re:.*experts.*"], "weights": {"num_bits": 8, "strategy": "channel", "block_structure": null}},
                               "group_2": {"targets": ["Embedding"], "weights": null}}}}
            """)
        #expect(config == QuantizationConfig(method: "compressed-tensors", blockScaling: .init(size: .init(rows: 64, columns: 32), origin: .configGroups)))
        #expect(rejection(#"{"quantization_config": {"config_groups": {"a": {"weights": {"block_structure": [64, 64]}}, "b": {"weights": {"block_structure": [128, 128]}}}}}"#)?
            .contains("different block_structure values (128x128, 64x64)") == true)
    }

    @Test("weight_block_size wins over the groups' block_structure")
    func weightBlockSizeFirst() throws {
        let config = try parse(#"{"quantization_config": {"config_groups": {"a": {"weights": {"block_structure": [64, 64]}}}, "weight_block_size": [128, 256]}}"#)
        #expect(config.blockScaling == .init(size: .init(rows: 128, columns: 256), origin: .weightBlockSize))
    }

    @Test("a block size that is not two positive integers is refused", arguments: ["[128]", "[128, 128, 1]", "[0, 128]", "[-128, 128]", "[128.0, 128]", "[\"128\", 128]", "128", "{}"])
    func badBlockSize(value: String) {
        #expect(rejection(#"{"quantization_config": {"weight_block_size": \#(value)}}"#) == "quantization_config.weight_block_size is not two positive integers")
    }

    @Test("text that is not a JSON object is refused, saying where", arguments: [
        ("[]", "the config is not a JSON object"),
        (#"{"a": 1,}"#, "not valid JSON: expected a string but found '}' (at byte 8)"),
        (#"{"a": 1} x"#, "not valid JSON: trailing characters after the config object (at byte 9)"),
        (#"{"quantization_config": []}"#, "quantization_config is not a JSON object"),
        (#"{"a": NaN}"#, "not valid JSON: expected a value but found 'N' (at byte 6)"),
    ])
    func notAnObject(json: String, reason: String) {
        #expect(rejection(json) == reason)
    }

    @Test("bytes that are not UTF-8 are refused")
    func notUTF8() throws {
        do {
            _ = try withBytes(of: Array(#"{"a": ""#.utf8) + [0xFF] + Array(#""}"#.utf8)) { buffer throws(SafetensorsError) in
                try QuantizationConfig(json: buffer, file: QuantizationConfigTests.name)
            }
            Issue.record("expected a rejection")
        } catch {
            #expect(error.description == "\(QuantizationConfigTests.name): not valid UTF-8 (at byte 7)")
        }
    }
}
