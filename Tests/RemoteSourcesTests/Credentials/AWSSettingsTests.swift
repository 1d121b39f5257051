@testable import RemoteSources
import Testing

@Suite struct AWSSettingsTests {
    private let credentialsFile = """
        # a comment
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        [work]
        aws_access_key_id=WORKKEY
        aws_secret_access_key=worksecret
        aws_session_token = worktoken
        """
    private let configFile = """
        [default]
        region = eu-central-1
        [profile work]
        region = ap-south-1
        endpoint_url = http://127.0.0.1:9000
        s3 =
          addressing_style = path
        """

    private func resolve(_ environment: [String: String], sign: Bool = true) throws(AWSSettingsError) -> AWSSettings {
        let files = ["/home/u/.aws/credentials": credentialsFile, "/home/u/.aws/config": configFile]
        return try AWSSettings.resolve(environment: ["HOME": "/home/u"].merging(environment) { $1 }, readFile: { files[$0] }, signRequests: sign)
    }

    @Test func environmentKeysComeFirst() throws {
        let settings = try resolve(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken", "AWS_PROFILE": "work"])
        #expect(settings.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
        #expect(settings.addressing.region == "ap-south-1")
    }

    @Test func theNamedProfileGivesKeysRegionAndEndpoint() throws {
        let settings = try resolve(["AWS_PROFILE": "work"])
        #expect(settings.credentials == AWSCredentials(accessKeyID: "WORKKEY", secretAccessKey: "worksecret", sessionToken: "worktoken"))
        #expect(settings.addressing.region == "ap-south-1")
        #expect(settings.addressing.endpoint?.display == "http://127.0.0.1:9000/")
    }

    @Test func theDefaultProfileIsUsedWithoutAName() throws {
        let settings = try resolve([:])
        #expect(settings.credentials?.accessKeyID == "DEFAULTKEY")
        #expect(settings.addressing.region == "eu-central-1")
        #expect(settings.addressing.endpoint == nil)
    }

    @Test func regionAndEndpointVariablesWin() throws {
        let settings = try resolve(["AWS_PROFILE": "work", "AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://10.0.0.1:1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2"])
        #expect(settings.addressing.region == "us-west-2")
        #expect(settings.addressing.endpoint?.port == 2)
        #expect(try resolve(["AWS_REGION": "sa-east-1", "AWS_DEFAULT_REGION": "us-west-2"]).addressing.region == "sa-east-1")
    }

    @Test func unsignedRequestsNeedNoKeys() throws {
        let settings = try AWSSettings.resolve(environment: [:], readFile: { _ in nil }, signRequests: false)
        #expect(settings.credentials == nil)
        #expect(settings.addressing.region == "us-east-1")
    }

    @Test func missingKeysAnUnknownProfileOrHalfAKeyAreOneClearLine() {
        let noFiles = { (_: String) -> String? in nil }
        #expect(throws: AWSSettingsError.self) { try AWSSettings.resolve(environment: ["HOME": "/h"], readFile: noFiles, signRequests: true) }
        #expect(throws: AWSSettingsError.self) { try resolve(["AWS_PROFILE": "absent"]) }
        #expect(throws: AWSSettingsError.self) { try resolve(["AWS_ACCESS_KEY_ID": "ONLYKEY"]) }
        do {
            _ = try resolve(["AWS_SECRET_ACCESS_KEY": "leaked-secret"])
        } catch {
            #expect(!error.description.contains("leaked-secret"))
        }
    }

    @Test func credentialsNeverPrintThemselves() {
        let credentials = AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        for text in ["\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains("s3cr3t") && !text.contains("t0k3n") && !text.contains("AKIAEXAMPLE"))
        }
    }
}
