@testable import RemoteSources
import Testing

@Suite struct SecretArgumentsTests {
    @Test func urlsAreShownWithoutCredentialsOrQueryAndPathsAsTheyAre() {
        #expect(SecretArguments.shown("https://u:p@h.example/m?s=1") == "https://h.example/m")
        #expect(SecretArguments.shown("https://h.example/m.safetensors?X-Amz-Signature=1") == "https://h.example/m.safetensors")
        #expect(SecretArguments.shown("s3://bucket/key") == "s3://bucket/key")
        #expect(SecretArguments.shown("/local/model?.safetensors") == "/local/model?.safetensors")
    }

    @Test func sizesReadAsUsersWriteThem() {
        #expect(ByteSizeText.parse("4096") == 4096)
        #expect(ByteSizeText.parse("512M") == 512 << 20)
        #expect(ByteSizeText.parse("10G") == 10 << 30)
        #expect(ByteSizeText.parse("2GiB") == 2 << 30)
        #expect(ByteSizeText.parse("1tb") == 1 << 40)
        #expect(ByteSizeText.parse("") == nil)
        #expect(ByteSizeText.parse("M") == nil)
        #expect(ByteSizeText.parse("-1") == nil)
        #expect(ByteSizeText.parse("99999999999T") == nil)
    }
}
