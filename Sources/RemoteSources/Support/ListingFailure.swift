/// Why listing the files of a remote place (an S3 prefix, a Hub repository) failed: one phrase,
/// which the locator puts into its line about the source.
struct ListingFailure: Error, CustomStringConvertible {
    var description: String
}
