/// Why a mount could not start or end: one line for the user.
public struct MountError: Error, CustomStringConvertible, Sendable {
    /// One line for the user.
    public var description: String

    /// An error with `description` as its line.
    public init(description: String) {
        self.description = description
    }
}
