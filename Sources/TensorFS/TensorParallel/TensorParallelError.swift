/// Why tensor-parallel views cannot be made: one line naming the file and the reason.
public enum TensorParallelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A slicing rule is malformed; `origin` is where it was written (`rules.txt:3`).
    case rule(origin: String, reason: String)
    /// A tensor cannot be cut as its rule says.
    case unsplittable(file: String, tensor: String, reason: String)
    /// The requested degree is not usable.
    case degree(Int, reason: String)

    public var description: String {
        switch self {
        case .rule(let origin, let reason): "\(origin): \(reason)"
        case .unsplittable(let file, let tensor, let reason): "\(file): tensor \(quotedName(tensor)) \(reason)"
        case .degree(let degree, let reason): "--tp \(degree): \(reason)"
        }
    }
}
