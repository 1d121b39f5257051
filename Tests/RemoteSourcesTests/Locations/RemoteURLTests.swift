@testable import RemoteSources
import Testing

@Suite struct RemoteURLTests {
    @Test func takesAURLApartAndShowsItWithoutSecrets() throws {
        let url = try RemoteURL(parsing: "HTTPS://user:pw@Hub.Example:8443/org/model/main/model.safetensors?sig=abc#frag")
        #expect(url.scheme == "https")
        #expect(url.userInfo == "user:pw")
        #expect(url.host == "hub.example")
        #expect(url.port == 8443)
        #expect(url.path == "/org/model/main/model.safetensors")
        #expect(url.query == "sig=abc")
        #expect(url.display == "https://hub.example:8443/org/model/main/model.safetensors")
        #expect(url.text == "https://user:pw@hub.example:8443/org/model/main/model.safetensors?sig=abc")
    }

    @Test func theOriginNamesSchemeHostAndEffectivePort() throws {
        #expect(try RemoteURL(parsing: "http://a.example/x").origin == "http://a.example:80")
        #expect(try RemoteURL(parsing: "https://a.example/x").origin == "https://a.example:443")
        #expect(try RemoteURL(parsing: "https://a.example:443/y").origin == "https://a.example:443")
        #expect(try RemoteURL(parsing: "http://[::1]:8080/").origin == "http://[::1]:8080")
        #expect(try RemoteURL(parsing: "https://a.example/").origin != RemoteURL(parsing: "http://a.example/").origin)
    }

    @Test(arguments: [
        ("ftp://a/x", "unsupported URL scheme"),
        ("http:///x", "names no host"),
        ("http://a:0/x", "bad port"),
        ("http://a:99999/x", "bad port"),
        ("http://a:8x/x", "bad port"),
        ("http://[::1/x", "bad host"),
        ("not a url", "not a URL"),
    ])
    func refusesWhatItCannotFetch(text: String, reason: String) {
        #expect(throws: RemoteURL.ParseError.self) { try RemoteURL(parsing: text) }
        do {
            _ = try RemoteURL(parsing: text)
        } catch {
            #expect(error.description.contains(reason))
        }
    }

    @Test(arguments: [
        ("model-00001-of-00002.safetensors", "https://h.example/a/b/model-00001-of-00002.safetensors"),
        ("../c/x.safetensors", "https://h.example/a/c/x.safetensors"),
        ("/root.safetensors", "https://h.example/root.safetensors"),
        ("//cdn.example/y?t=1", "https://cdn.example/y?t=1"),
        ("http://other.example/z", "http://other.example/z"),
        ("?v=2", "https://h.example/a/b/index.json?v=2"),
    ])
    func resolvesReferencesAsRFC3986Says(reference: String, expected: String) throws {
        let base = try RemoteURL(parsing: "https://h.example/a/b/index.json?sig=secret")
        #expect(try base.resolving(reference).text == expected)
    }

    @Test func removesDotSegments() {
        #expect(RemoteURL.removingDotSegments("/a/b/c/./../../g") == "/a/g")
        #expect(RemoteURL.removingDotSegments("/a/../../x") == "/x")
        #expect(RemoteURL.removingDotSegments("/a/b/..") == "/a/")
        #expect(RemoteURL.removingDotSegments("/") == "/")
    }

    @Test func showsEvenAnUnparsableURLWithoutItsCredentialsOrQuery() {
        #expect(RemoteURL.displayForm(of: "http://user:secret@[::1/x?token=t") == "http://[::1/x")
        #expect(RemoteURL.displayForm(of: "https://u:p@h.example/m.safetensors?s=1") == "https://h.example/m.safetensors")
    }
}
