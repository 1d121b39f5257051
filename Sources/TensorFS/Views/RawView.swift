/// `T`: the tensor's bytes exactly as stored (or the rank's slice of them).
struct RawView: TensorView {
    var name: String { "raw" }
    var suffix: StaticString { "" }
    var isDefault: Bool { true }

    func generatedBytes(for tensor: PresentedTensor) -> [UInt8]? { nil }

    func body(for tensor: PresentedTensor) -> FileContents.Body {
        tensor.bytes
    }
}
