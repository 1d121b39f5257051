@testable import TensorFS

extension Namespace {
    /// What `inode` is, in words a test can compare: `directory`, `mirror`, a view's name for a
    /// tensor's file (`raw`, `json`, `npy`), a model file's kind (`metadata`, `safetensors`),
    /// or `companion`; with the node's payload.
    func entry(_ inode: InodeNumber) -> (kind: String, payload: Int)? {
        guard let reference = reference(inode) else { return nil }
        let stored = node(reference)
        let kind = switch stored.kind {
        case .directory: "directory"
        case .mirrorRoot: "mirror"
        case .tensorFile: TensorViews.all[Int(stored.variant)].name
        case .modelFile: "\(ModelFileKind(rawValue: stored.variant)!)"
        case .companionFile: "companion"
        }
        return (kind, Int(stored.payload))
    }
}
