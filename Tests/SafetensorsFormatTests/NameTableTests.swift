import Testing
@testable import SafetensorsFormat

/// The packed name table and its hasher, which hold a hundred thousand tensor names.
@Suite("name table")
struct NameTableTests {
    private func hash(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { NameHasher.hash(UnsafeRawBufferPointer($0)) }
    }

    @Test("the hash does not depend on how the bytes are split", arguments: ["", "a", "weight", "model.layers.12.self_attn.q_proj.weight", String(repeating: "é", count: 40)])
    func hashIgnoresSplits(text: String) {
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var hasher = NameHasher(seed: 7)
            bytes[..<split].withUnsafeBytes { hasher.combine($0) }
            for byte in bytes[split...] { hasher.combine(byte) }
            var whole = NameHasher(seed: 7)
            bytes.withUnsafeBytes { whole.combine($0) }
            #expect(hasher.value == whole.value, "split at \(split)")
        }
    }

    @Test("the hash tells apart lengths, trailing zero bytes and seeds")
    func hashDistinguishes() {
        #expect(hash("a") != hash("a\u{0}"))
        #expect(hash("") != hash("\u{0}"))
        #expect(NameHasher(seed: 1).value != NameHasher(seed: 2).value)
    }

    @Test("names are numbered in the order added; adding one again returns its number")
    func insertAndFind() {
        var table = NameTable()
        let names = (0..<5000).map { "model.layers.\($0 / 7).mlp.w\($0 % 7).weight" }
        for (number, name) in names.enumerated() {
            let (inserted, assigned) = table.insert(name)
            #expect(inserted && assigned == number)
        }
        #expect(table.count == names.count)
        for (number, name) in names.enumerated().reversed() {
            #expect(table.number(of: name) == number)
            #expect(table.insert(name) == (false, number))
            #expect(table.name(number) == name)
        }
        #expect(table.number(of: "model.layers.0.mlp.w7.weight") == nil)
        #expect(table.number(of: "model.layers") == nil)
    }

    @Test("names are byte strings: canonically equal spellings, empty and very long names are kept apart")
    func byteStrings() {
        var table = NameTable()
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let long = String(repeating: "x", count: 5000)
        for name in [composed, decomposed, "", long, long + "y"] { #expect(table.insert(name).inserted) }
        #expect(table.number(of: decomposed) == 1)
        #expect(table.number(of: "") == 2)
        #expect(table.number(of: long + "y") == 4)
        #expect(table.number(of: long + "z") == nil)
        #expect(table.name(0).utf8.elementsEqual(composed.utf8))
    }
}
