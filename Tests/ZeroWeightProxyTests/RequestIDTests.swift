import Testing

@testable import ZeroWeightProxy

@Suite struct RequestIDTests {
    private func isFresh(_ id: RequestID) -> Bool {
        id.rawValue.utf8.count == 32
            && id.rawValue.utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }

    @Test(arguments: [
        "a", "req-1", "A.b_C-9", "0f8fad5b-d9cb-469f-a165-70867728950e", String(repeating: "x", count: 64),
    ])
    func aValidIncomingIDIsKept(incoming: String) {
        let id = RequestID(incoming: incoming)
        #expect(id.rawValue == incoming)
        #expect(id.description == incoming)
    }

    @Test(
        arguments: [
            nil, "", " ", "a b", "a\nb", "abc\n", "abc\r\n", "a\u{0}", "a/b", "a\"b", "a,b", "a:b", "a=b", "é",
            "\u{202E}abc", String(repeating: "x", count: 65),
        ] as [String?])
    func anInvalidIncomingIDIsReplacedWith32HexCharacters(incoming: String?) {
        let id = RequestID(incoming: incoming)
        #expect(id.rawValue != incoming)
        #expect(isFresh(id))
    }

    @Test func freshIDsDiffer() {
        let ids = (0..<100).map { _ in RequestID(incoming: nil) }
        #expect(ids.allSatisfy(isFresh))
        #expect(Set(ids).count == 100)
    }

    @Test func aFreshIDIsItselfAValidIncomingID() {
        let fresh = RequestID(incoming: "bad id")
        #expect(RequestID(incoming: fresh.rawValue) == fresh)
    }
}
