import SafetensorsFormat

/// One GET request as the transfer engine sends it.
struct HTTPRequest: Sendable {
    /// The full URL, query included.
    var url: String
    /// Header lines (`Name: value`) beyond those the engine adds; they may hold secrets and are
    /// never logged.
    var headers: [String] = []
    /// The bytes asked for, or nil for the whole body.
    var range: ByteRange?
    /// How to sign the request for S3, or nil to send it as it is.
    var signing: SigV4Signing?
}

/// AWS Signature Version 4 for S3, which libcurl computes (CURLOPT_AWS_SIGV4).
struct SigV4Signing: Sendable {
    /// The region the request is signed for.
    var region: String
    /// The keys to sign with.
    var credentials: AWSCredentials
}
