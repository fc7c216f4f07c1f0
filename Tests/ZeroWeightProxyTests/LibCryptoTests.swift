import Testing

@testable import ZeroWeightProxy

/// Known-answer vectors from RFC 4231, RFC 7515 appendix A and RFC 8037 appendix A.
enum RFCVectors {
    static let payload =
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

    /// RFC 7515 A.1: HS256, the JWK `k` is the HMAC key.
    static let hs256Token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        + payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let hs256Key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"

    /// RFC 7515 A.2: RS256.
    static let rs256Token =
        "eyJhbGciOiJSUzI1NiJ9." + payload
        + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdb"
        + "F9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383L"
        + "cOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywl"
        + "VmtVrBp0igcN_IoypGlUPQGe77Rw"
    static let rs256Modulus =
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZ"
        + "S-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBE"
        + "Ma2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2"
        + "PAcDTW9gb54h4FRWyuXpoQ"
    static let rs256Exponent = "AQAB"

    /// RFC 7515 A.3: ES256.
    static let es256Token =
        "eyJhbGciOiJFUzI1NiJ9." + payload
        + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    static let es256X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
    static let es256Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"

    /// RFC 8037 A.4 (signing) and A.5 (validation): Ed25519 over a payload that is not JSON.
    static let ed25519Token =
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
        + ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    static let ed25519X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

    /// The signing input and decoded signature of a compact JWS.
    static func split(_ token: String) -> (input: [UInt8], signature: [UInt8]) {
        let dot = token.lastIndex(of: ".")!
        return (Array(token[..<dot].utf8), Base64URL.decode(token[token.index(after: dot)...])!)
    }

    static func decoded(_ text: String) -> [UInt8] { Base64URL.decode(text)! }
}

@Suite struct LibCryptoTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded() }.joined() }

    // MARK: HMAC and comparison

    @Test(arguments: [
        // RFC 4231 test cases 1 and 2.
        (
            [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
    ])
    func hmacSHA256MatchesRFC4231(key: [UInt8], message: [UInt8], expected: String) throws {
        let mac = try #require(LibCrypto.hmacSHA256(key: key, message: message))
        #expect(Self.hex(mac) == expected)
    }

    @Test func hmacSHA256MatchesRFC7515AppendixA1() throws {
        let (input, signature) = RFCVectors.split(RFCVectors.hs256Token)
        let mac = try #require(LibCrypto.hmacSHA256(key: RFCVectors.decoded(RFCVectors.hs256Key), message: input))
        #expect(mac == signature)
    }

    @Test func hmacSHA256AgreesWithTheOpenSSLCommandLine() throws {
        let key = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let message = Array("header.payload".utf8)
        #expect(
            try #require(LibCrypto.hmacSHA256(key: key, message: message))
                == TestSigner.hmac(key: key, message: message))
    }

    @Test(arguments: [
        ([UInt8](), [UInt8](), true),
        ([1, 2, 3], [1, 2, 3], true),
        ([1, 2, 3], [1, 2, 4], false),
        ([9, 2, 3], [1, 2, 3], false),
        ([1, 2, 3], [1, 2], false),
        ([1, 2], [1, 2, 3], false),
    ])
    func constantTimeEqualsComparesContentAndLength(a: [UInt8], b: [UInt8], equal: Bool) {
        #expect(LibCrypto.constantTimeEquals(a, b) == equal)
    }

    // MARK: RS256

    private static let rfcRSAKey = LibCrypto.rsaPublicKey(
        modulus: RFCVectors.decoded(RFCVectors.rs256Modulus), exponent: RFCVectors.decoded(RFCVectors.rs256Exponent))

    @Test func rs256VerifiesRFC7515AppendixA2() throws {
        let key = try #require(Self.rfcRSAKey)
        #expect(key.type == .rsa)
        #expect(key.bits == 2048)
        let (input, signature) = RFCVectors.split(RFCVectors.rs256Token)
        #expect(LibCrypto.verifyRS256(signature: signature, message: input, key: key))
    }

    @Test func rs256RefusesAlteredMessagesAndSignatures() throws {
        let key = try #require(Self.rfcRSAKey)
        let (input, signature) = RFCVectors.split(RFCVectors.rs256Token)
        var message = input
        message[message.count - 1] ^= 1
        var altered = signature
        altered[0] ^= 1
        #expect(!LibCrypto.verifyRS256(signature: signature, message: message, key: key))
        #expect(!LibCrypto.verifyRS256(signature: altered, message: input, key: key))
        #expect(!LibCrypto.verifyRS256(signature: Array(signature.dropLast()), message: input, key: key))
        #expect(!LibCrypto.verifyRS256(signature: [], message: input, key: key))
    }

    // MARK: ES256

    private static let rfcP256Key = LibCrypto.p256PublicKey(
        x: RFCVectors.decoded(RFCVectors.es256X), y: RFCVectors.decoded(RFCVectors.es256Y))

    @Test func es256VerifiesRFC7515AppendixA3() throws {
        let key = try #require(Self.rfcP256Key)
        #expect(key.type == .p256)
        #expect(key.bits == 256)
        let (input, signature) = RFCVectors.split(RFCVectors.es256Token)
        #expect(LibCrypto.verifyES256(signature: signature, message: input, key: key))
    }

    @Test func es256RefusesAlteredAndMisshapenSignatures() throws {
        let key = try #require(Self.rfcP256Key)
        let (input, signature) = RFCVectors.split(RFCVectors.es256Token)
        var message = input
        message[0] ^= 1
        var altered = signature
        altered[40] ^= 1
        #expect(!LibCrypto.verifyES256(signature: signature, message: message, key: key))
        #expect(!LibCrypto.verifyES256(signature: altered, message: input, key: key))
        #expect(!LibCrypto.verifyES256(signature: Array(signature.dropLast()), message: input, key: key))
        #expect(!LibCrypto.verifyES256(signature: signature + [0], message: input, key: key))
        #expect(!LibCrypto.verifyES256(signature: [UInt8](repeating: 0, count: 64), message: input, key: key))
        #expect(
            !LibCrypto.verifyES256(
                signature: Array(signature[..<32]) + [UInt8](repeating: 0, count: 32), message: input, key: key))
    }

    @Test func p256KeysMustBe32ByteCoordinatesOfACurvePoint() {
        let x = RFCVectors.decoded(RFCVectors.es256X)
        var y = RFCVectors.decoded(RFCVectors.es256Y)
        #expect(LibCrypto.p256PublicKey(x: Array(x.dropFirst()), y: y) == nil)
        #expect(LibCrypto.p256PublicKey(x: x, y: y + [0]) == nil)
        y[31] ^= 1
        #expect(LibCrypto.p256PublicKey(x: x, y: y) == nil)
        #expect(
            LibCrypto.p256PublicKey(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)) == nil)
    }

    // MARK: EdDSA

    private static let rfcEd25519Key = LibCrypto.ed25519PublicKey(RFCVectors.decoded(RFCVectors.ed25519X))

    @Test func ed25519VerifiesRFC8037AppendixA4AndA5() throws {
        let key = try #require(Self.rfcEd25519Key)
        #expect(key.type == .ed25519)
        let (input, signature) = RFCVectors.split(RFCVectors.ed25519Token)
        #expect(input == Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8))
        #expect(LibCrypto.verifyEd25519(signature: signature, message: input, key: key))
    }

    @Test func ed25519RefusesAlteredAndMisshapenSignatures() throws {
        let key = try #require(Self.rfcEd25519Key)
        let (input, signature) = RFCVectors.split(RFCVectors.ed25519Token)
        var message = input
        message[5] ^= 1
        var altered = signature
        altered[63] ^= 1
        #expect(!LibCrypto.verifyEd25519(signature: signature, message: message, key: key))
        #expect(!LibCrypto.verifyEd25519(signature: altered, message: input, key: key))
        #expect(!LibCrypto.verifyEd25519(signature: Array(signature.dropLast()), message: input, key: key))
        #expect(LibCrypto.ed25519PublicKey([UInt8](repeating: 1, count: 31)) == nil)
        #expect(LibCrypto.ed25519PublicKey([UInt8](repeating: 1, count: 33)) == nil)
    }

    // MARK: Keys of the wrong kind

    @Test func eachVerifyFunctionTakesOnlyItsOwnKeyType() throws {
        let rsa = try #require(Self.rfcRSAKey)
        let p256 = try #require(Self.rfcP256Key)
        let ed25519 = try #require(Self.rfcEd25519Key)
        let (rsInput, rsSignature) = RFCVectors.split(RFCVectors.rs256Token)
        let (esInput, esSignature) = RFCVectors.split(RFCVectors.es256Token)
        let (edInput, edSignature) = RFCVectors.split(RFCVectors.ed25519Token)
        #expect(!LibCrypto.verifyRS256(signature: rsSignature, message: rsInput, key: p256))
        #expect(!LibCrypto.verifyRS256(signature: rsSignature, message: rsInput, key: ed25519))
        #expect(!LibCrypto.verifyES256(signature: esSignature, message: esInput, key: rsa))
        #expect(!LibCrypto.verifyES256(signature: esSignature, message: esInput, key: ed25519))
        #expect(!LibCrypto.verifyEd25519(signature: edSignature, message: edInput, key: rsa))
        #expect(!LibCrypto.verifyEd25519(signature: edSignature, message: edInput, key: p256))
    }

    // MARK: Against the openssl command line

    @Test(arguments: [TestSigner.rsa, TestSigner.p256, TestSigner.ed25519])
    func verifiesSignaturesMadeByTheOpenSSLCommandLine(signer: TestSigner) throws {
        let message = Array("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0".utf8)
        let signature = signer.sign(message)
        let members = signer.jwkMembers
        let decoded = { (name: String) in RFCVectors.decoded(members[name]!) }
        switch signer.kind {
        case .rsa:
            let key = try #require(LibCrypto.rsaPublicKey(modulus: decoded("n"), exponent: decoded("e")))
            #expect(LibCrypto.verifyRS256(signature: signature, message: message, key: key))
            #expect(!LibCrypto.verifyRS256(signature: signature, message: message + [0x2E], key: key))
        case .p256:
            let key = try #require(LibCrypto.p256PublicKey(x: decoded("x"), y: decoded("y")))
            #expect(LibCrypto.verifyES256(signature: signature, message: message, key: key))
            #expect(!LibCrypto.verifyES256(signature: signature, message: message + [0x2E], key: key))
        case .ed25519:
            let key = try #require(LibCrypto.ed25519PublicKey(decoded("x")))
            #expect(LibCrypto.verifyEd25519(signature: signature, message: message, key: key))
            #expect(!LibCrypto.verifyEd25519(signature: signature, message: message + [0x2E], key: key))
        }
    }
}

extension String {
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}
