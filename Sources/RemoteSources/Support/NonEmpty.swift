/// `value` unless it is nil or empty: an environment variable set to nothing counts as unset.
func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
