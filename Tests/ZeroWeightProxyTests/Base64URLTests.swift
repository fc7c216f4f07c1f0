import Testing

@testable import ZeroWeightProxy

@Suite struct Base64URLTests {
    /// RFC 4648 section 10, without the padding JWS drops.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: vectors)
    func decodesRFC4648Vectors(plain: String, encoded: String) {
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: vectors)
    func encodesRFC4648VectorsWithoutPadding(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
    }

    @Test func usesTheURLAlphabet() {
        #expect(Base64URL.encode([0xFA, 0xFB, 0xFC]) == "-vv8")
        #expect(Base64URL.encode([0xFF, 0xFF]) == "__8")
        #expect(Base64URL.decode("-vv8") == [0xFA, 0xFB, 0xFC])
        #expect(Base64URL.decode("__8") == [0xFF, 0xFF])
    }

    @Test func decodesTheRFC7515HeaderExample() {
        let header = Base64URL.decode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9")
        #expect(header == Array("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}".utf8))
    }

    @Test func roundTripsEveryByteAtEveryLength() {
        let bytes = (0..<256).map { UInt8($0) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            #expect(Base64URL.decode(Base64URL.encode(slice)) == slice)
        }
    }

    @Test(arguments: [
        "Zg==",  // padding
        "Zg=",  // padding
        "Zm9vYg==",  // padding
        "Zm9v+w",  // standard alphabet +
        "Zm9v/w",  // standard alphabet /
        "Z",  // a length no byte string has
        "Zm9vY",  // the same, after a full group
        "Zh",  // unused bits set: canonical is Zg
        "Zm9",  // unused bits set: canonical is Zm8
        " Zg", "Zg ", "Zg\n", "Zm 9v",  // white space
        "Zm9v.", "Zm9v\u{0}", "Zé", "Ｚｇ",
    ])
    func refusesNonCanonicalText(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
