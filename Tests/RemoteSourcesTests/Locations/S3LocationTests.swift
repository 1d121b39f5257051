@testable import RemoteSources
import Testing

@Suite struct S3LocationTests {
    @Test func splitsBucketAndKey() throws {
        let object = try S3Location(parsing: "s3://models/llama/model.safetensors")
        #expect(object.bucket == "models")
        #expect(object.key == "llama/model.safetensors")
        #expect(!object.isPrefix)
        #expect(try S3Location(parsing: "s3://models/llama/").isPrefix)
        #expect(try S3Location(parsing: "s3://models").isPrefix)
        #expect(try S3Location(parsing: "s3://models").key == "")
    }

    @Test func refusesABadBucketName() {
        #expect(throws: RemoteURL.ParseError.self) { try S3Location(parsing: "s3:///key") }
        #expect(throws: RemoteURL.ParseError.self) { try S3Location(parsing: "s3://bad bucket/key") }
    }

    @Test func addressesAWSVirtualHostedAndCustomEndpointsPathStyle() throws {
        let aws = S3Addressing(endpoint: nil, region: "eu-west-1")
        #expect(aws.url(bucket: "models", key: "a b/c+d.safetensors") == "https://models.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.safetensors")
        #expect(aws.url(bucket: "my.models", key: "k") == "https://s3.eu-west-1.amazonaws.com/my.models/k")
        let custom = S3Addressing(endpoint: try RemoteURL(parsing: "http://127.0.0.1:9000/"), region: "us-east-1")
        #expect(custom.url(bucket: "models", key: "x/y", query: "list-type=2") == "http://127.0.0.1:9000/models/x/y?list-type=2")
    }

    @Test func percentEncodesAsSignatureVersion4Wants() {
        #expect(PercentEncoding.encode("a/b c~-._é") == "a%2Fb%20c~-._%C3%A9")
        #expect(PercentEncoding.encodePath("dir x/f+g=h") == "dir%20x/f%2Bg%3Dh")
    }

    @Test func listingQueriesAreCanonical() {
        #expect(S3Listing.query(prefix: "dir x/", continuation: nil) == "list-type=2&prefix=dir%20x%2F")
        #expect(S3Listing.query(prefix: "", continuation: "a+b/=") == "continuation-token=a%2Bb%2F%3D&list-type=2&prefix=")
    }
}
