import Testing
@testable import TensorFS

/// The reversible rule that turns name components into path components.
@Suite("name escaping")
struct NameEscapingTests {
    static func escaped(_ component: String, escapingDots: Bool = false) -> String {
        String(decoding: NameEscaping.escape(Array(component.utf8), escapingDots: escapingDots), as: UTF8.self)
    }

    static func pieces(_ component: String) -> [String] {
        NameEscaping.pieces(of: Array(component.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("ordinary components are left alone", arguments: ["weight", "q_proj", "0", "bitsandbytes__nf4", "日本語", "é", "a b", "-", "~"])
    func ordinary(component: String) {
        #expect(Self.escaped(component) == component)
    }

    @Test("slash, NUL and percent are escaped as %XX", arguments: [
        ("a/b", "a%2Fb"), ("a\u{0}b", "a%00b"), ("100%", "100%25"), ("%2F", "%252F"), ("/", "%2F"), ("%", "%25"),
    ])
    func unsafeBytes(component: String, expected: String) {
        #expect(Self.escaped(component) == expected)
    }

    @Test("empty, dot and dot-dot components get names of their own", arguments: [("", "%"), (".", "%2E"), ("..", "%2E%2E")])
    func specialComponents(component: String, expected: String) {
        #expect(Self.escaped(component) == expected)
        #expect(Self.escaped(component, escapingDots: true) == expected)
    }

    @Test("dots stay unless the component must not clash with a generated file")
    func dots() {
        #expect(Self.escaped("weight.json") == "weight.json")
        #expect(Self.escaped("weight.json", escapingDots: true) == "weight%2Ejson")
        #expect(Self.escaped("...", escapingDots: false) == "...")
    }

    @Test("a component of up to 250 bytes is one piece")
    func shortComponents() {
        let name = String(repeating: "x", count: 250)
        #expect(Self.pieces(name) == [name])
    }

    @Test("a longer component is cut into pieces of at most 250 bytes, all but the last marked %+")
    func longComponents() {
        let name = String(repeating: "x", count: 600)
        let pieces = Self.pieces(name)
        #expect(pieces.count == 3)
        #expect(pieces.dropLast().allSatisfy { $0.hasSuffix("%+") && $0.utf8.count == 252 })
        #expect(pieces.last == String(repeating: "x", count: 100))
        #expect(NameEscaping.name(fromComponents: pieces) == name)
    }

    @Test("a cut never splits an escape", arguments: 245...252)
    func cutKeepsEscapesWhole(position: Int) {
        let name = String(repeating: "x", count: position) + "/" + String(repeating: "y", count: 20)
        let pieces = Self.pieces(Self.escaped(name))
        for piece in pieces {
            let body = piece.hasSuffix("%+") ? String(piece.dropLast(2)) : piece
            #expect(NameEscaping.unescape(Array(body.utf8)) != nil, "\(piece)")
            #expect(body.utf8.count <= NameEscaping.maximumPieceLength)
        }
        #expect(NameEscaping.name(fromComponents: pieces) == name)
    }

    @Test("a cut never splits a UTF-8 sequence", arguments: 0...3)
    func cutKeepsCharactersWhole(shift: Int) {
        let name = String(repeating: "a", count: shift) + String(repeating: "日", count: 200)
        let pieces = Self.pieces(name)
        #expect(pieces.count == 3)
        for piece in pieces {
            #expect(String(validating: Array(piece.utf8), as: UTF8.self) != nil)
            #expect(piece.utf8.count <= NameEscaping.maximumPieceLength + 2)
        }
        #expect(NameEscaping.name(fromComponents: pieces) == name)
    }

    @Test("a cut that leaves . or .. last escapes it", arguments: [".", ".."])
    func cutLeavingDots(tail: String) {
        let name = String(repeating: "a", count: 250) + tail
        let pieces = Self.pieces(name)
        #expect(pieces == [String(repeating: "a", count: 250) + "%+", Self.escaped(tail)])
        #expect(NameEscaping.name(fromComponents: pieces) == name)
    }

    @Test("decoding joins components with dots, and cut pieces with nothing")
    func decoding() {
        #expect(NameEscaping.name(fromComponents: ["model", "layers", "0", "weight"]) == "model.layers.0.weight")
        #expect(NameEscaping.name(fromComponents: ["a%+", "b", "c"]) == "ab.c")
        #expect(NameEscaping.name(fromComponents: ["%", "%2E%2E", "a%2Fb%00"]) == "....a/b\u{0}")
        #expect(NameEscaping.name(fromComponents: ["x", "weight.absmax"]) == "x.weight.absmax")
    }

    @Test("paths the rule never makes decode to nothing", arguments: ["%2", "a%G0", "%zz", "a%", "%2e"])
    func malformed(component: String) {
        #expect(NameEscaping.name(fromComponents: [component]) == nil)
    }

    @Test("escaping then decoding gives every name back", arguments: NameEscapingTests.hostileNames)
    func roundTrip(name: String) {
        let pieces = Self.pieces(Self.escaped(name))
        #expect(NameEscaping.name(fromComponents: pieces).map { Array($0.utf8) } == Array(name.utf8))
        for piece in pieces {
            #expect(!["", ".", ".."].contains(piece))
            #expect(!piece.utf8.contains(0) && !piece.utf8.contains(UInt8(ascii: "/")))
            #expect(piece.utf8.count <= 255)
        }
        // The last piece is the one a view suffix is added to.
        #expect(pieces.last!.utf8.count + ".json".utf8.count <= 255)
    }

    static let hostileNames: [String] = [
        "", ".", "..", "...", "a/b", "/", "a\u{0}b", "\u{0}", "%", "%%", "%2E", "%+", "a%+",
        String(repeating: "n", count: 600), String(repeating: "é", count: 300), String(repeating: "%", count: 300),
        String(repeating: "/", count: 255), "e\u{301}", "\u{e9}", "🙂.🙃", "\u{feff}x", "\t\n\r",
    ]
}
