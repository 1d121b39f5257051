/// Why remote reading could not be set up (a cache directory that cannot be used, say).
public struct RemoteSetupError: Error, Sendable, CustomStringConvertible {
    /// One line for the user.
    public var description: String
}
