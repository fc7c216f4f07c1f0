import Testing

@testable import ZeroWeightProxy

@Suite struct JSONWebKeySetTests {
    static let path = "/etc/zeroweight-proxy/jwks.json"

    static let rsa = #"{"kty":"RSA","n":"\#(RFCVectors.rs256Modulus)","e":"AQAB""#
    static let ec = #"{"kty":"EC","crv":"P-256","x":"\#(RFCVectors.es256X)","y":"\#(RFCVectors.es256Y)""#
    static let okp = #"{"kty":"OKP","crv":"Ed25519","x":"\#(RFCVectors.ed25519X)""#

    /// A key object: one of the open objects above, closed after `extra` members.
    static func key(_ open: String, _ extra: String = "") -> String {
        open + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    static func set(_ keys: String...) -> String {
        #"{"keys":["# + keys.joined(separator: ",") + "]}"
    }

    private func parse(_ text: String) -> Result<JSONWebKeySet, ConfigurationError> {
        Result { () throws(ConfigurationError) in try JSONWebKeySet(parsing: text, path: Self.path) }
    }

    // MARK: Usable keys

    @Test func readsTheRFCKeysEachBoundToTheAlgorithmItsTypeImplies() throws {
        let keys = try parse(
            Self.set(
                Self.key(Self.rsa, #""kid":"rsa-1""#), Self.key(Self.ec, #""kid":"ec-1""#),
                Self.key(Self.okp, #""kid":"ed-1""#))
        ).get()
        #expect(keys.keys.map(\.keyID) == ["rsa-1", "ec-1", "ed-1"])
        #expect(keys.keys.map(\.algorithm) == [.rs256, .es256, .edDSA])
        #expect(keys.keys.map(\.publicKey.type) == [.rsa, .p256, .ed25519])
        #expect(keys.skipped.isEmpty)
    }

    @Test(arguments: [
        (rsa, #""alg":"RS256","use":"sig""#, JWTAlgorithm.rs256),
        (ec, #""alg":"ES256","key_ops":["verify"]"#, .es256),
        (okp, #""alg":"EdDSA""#, .edDSA),
    ])
    func acceptsAnAlgThatRepeatsTheImpliedOne(open: String, extra: String, algorithm: JWTAlgorithm) throws {
        let keys = try parse(Self.set(Self.key(open, extra))).get()
        #expect(keys.keys.map(\.algorithm) == [algorithm])
        #expect(keys.keys.first?.keyID == nil)
    }

    @Test func readsKeysMadeByTheOpenSSLCommandLine() throws {
        let keys = try parse(
            Self.set(
                TestSigner.rsa.jwk(["kid": "a"]), TestSigner.p256.jwk(["kid": "b"]),
                TestSigner.ed25519.jwk(["kid": "c"]))
        ).get()
        #expect(keys.keys.map(\.algorithm) == [.rs256, .es256, .edDSA])
        #expect(keys.key(withID: "b")?.algorithm == .es256)
        #expect(keys.key(withID: "B") == nil)
    }

    // MARK: Skipped keys

    @Test(arguments: [
        (key(rsa, #""use":"enc""#), #"keys[0] has use "enc", not "sig""#),
        (key(ec, #""key_ops":["encrypt","wrapKey"]"#), #"keys[0] has key_ops without "verify""#),
        (key(rsa, #""alg":"RS384""#), #"keys[0] has alg "RS384", which is not supported"#),
        (key(rsa, #""alg":"PS256""#), #"keys[0] has alg "PS256", which is not supported"#),
        (key(rsa, #""alg":"RSA-OAEP""#), #"keys[0] has alg "RSA-OAEP", which is not supported"#),
        (#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#, #"keys[0] is on curve "P-384", not P-256"#),
        (#"{"kty":"EC","x":"AA","y":"AA"}"#, #"keys[0] is on curve "(none)", not P-256"#),
        (#"{"kty":"OKP","crv":"X25519","x":"AA"}"#, #"keys[0] is on curve "X25519", not Ed25519"#),
        (#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#, #"keys[0] is on curve "Ed448", not Ed25519"#),
        (#"{"kty":"AKP","alg":"ML-DSA-44","pub":"AA"}"#, #"keys[0] has kty "AKP", which is not supported"#),
    ])
    func skipsKeysThisVerifierCannotUse(skippedKey: String, reason: String) throws {
        let keys = try parse(Self.set(skippedKey, Self.key(Self.okp, #""kid":"kept""#))).get()
        #expect(keys.keys.map(\.keyID) == ["kept"])
        #expect(keys.skipped == [reason])
    }

    // MARK: Refused sets

    @Test(arguments: ["d", "p", "q", "dp", "dq", "qi", "oth"])
    func refusesTheWholeSetWhenAnyKeyIsPrivate(member: String) {
        let privateKey = Self.key(Self.rsa, #""\#(member)":"c2VjcmV0LXByaXZhdGUtcGFydA""#)
        let result = parse(Self.set(Self.key(Self.okp), privateKey))
        #expect(
            result.error
                == ConfigurationError(
                    setting: "\(Self.path) keys[1]",
                    problem: "has the private key member \"\(member)\"; a JWKS file must hold public keys only"))
        #expect(result.error?.description.contains("c2VjcmV0") == false)
    }

    @Test(arguments: [
        key(ec, #""d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI""#),
        key(okp, #""d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A""#),
        // A private key in a skipped kind is still an operator error.
        key(rsa, #""use":"enc","d":"AQAB""#),
    ])
    func refusesPrivateECAndEd25519Keys(privateKey: String) {
        let result = parse(Self.set(privateKey))
        #expect(result.error?.setting == "\(Self.path) keys[0]")
        #expect(result.error?.problem.hasPrefix("has the private key member \"d\"") == true)
        #expect(result.error?.description.contains("jpsQ") == false)
        #expect(result.error?.description.contains("nWGx") == false)
    }

    @Test func refusesSymmetricKeys() {
        let result = parse(Self.set(Self.key(Self.okp), #"{"kty":"oct","k":"\#(RFCVectors.hs256Key)","alg":"HS256"}"#))
        #expect(
            result.error
                == ConfigurationError(
                    setting: "\(Self.path) keys[1]",
                    problem: "is a symmetric (oct) key; an HS256 secret belongs in its own secret file, not in a JWKS"))
        #expect(result.error?.description.contains("AyM1") == false)
    }

    @Test(arguments: [
        (key(rsa, #""alg":"HS256""#), "has alg HS256, but its key type is only for RS256"),
        (key(rsa, #""alg":"ES256""#), "has alg ES256, but its key type is only for RS256"),
        (key(ec, #""alg":"RS256""#), "has alg RS256, but its key type is only for ES256"),
        (key(ec, #""alg":"EdDSA""#), "has alg EdDSA, but its key type is only for ES256"),
        (key(okp, #""alg":"ES256""#), "has alg ES256, but its key type is only for EdDSA"),
        (key(okp, #""alg":"HS256""#), "has alg HS256, but its key type is only for EdDSA"),
    ])
    func refusesAnAlgThatContradictsTheKeyType(jwk: String, problem: String) {
        #expect(parse(Self.set(jwk)).error == ConfigurationError(setting: "\(Self.path) keys[0]", problem: problem))
    }

    /// A modulus of `bits` bits (top bit set, odd), base64url.
    static func modulus(bits: Int) -> String {
        var bytes = [UInt8](repeating: 0xA5, count: (bits + 7) / 8)
        let topBits = bits % 8 == 0 ? 8 : bits % 8
        bytes[0] = UInt8(1 << (topBits - 1)) | 1
        bytes[bytes.count - 1] |= 1
        return Base64URL.encode(bytes)
    }

    @Test(arguments: [
        (
            #"{"kty":"RSA","n":"\#(modulus(bits: 1024))","e":"AQAB"}"#,
            "has a 1024-bit RSA modulus; 2048 to 16384 bits are accepted"
        ),
        (
            #"{"kty":"RSA","n":"\#(modulus(bits: 2047))","e":"AQAB"}"#,
            "has a 2047-bit RSA modulus; 2048 to 16384 bits are accepted"
        ),
        (
            #"{"kty":"RSA","n":"AAAA\#(modulus(bits: 2040))","e":"AQAB"}"#,
            "has a 2040-bit RSA modulus; 2048 to 16384 bits are accepted"
        ),
        (
            #"{"kty":"RSA","n":"\#(modulus(bits: 16392))","e":"AQAB"}"#,
            "has a 16392-bit RSA modulus; 2048 to 16384 bits are accepted"
        ),
        (
            key(rsa.replacingOccurrences(of: "AQAB", with: "AQ")),
            "has an RSA exponent e that is not an odd number from 3 to 2^64-1"
        ),
        (
            key(rsa.replacingOccurrences(of: "AQAB", with: "AQAA")),
            "has an RSA exponent e that is not an odd number from 3 to 2^64-1"
        ),
        (
            key(rsa.replacingOccurrences(of: "AQAB", with: "AQAAAAAAAAAB")),
            "has an RSA exponent e that is not an odd number from 3 to 2^64-1"
        ),
        (#"{"kty":"RSA","e":"AQAB"}"#, "has no n string"),
        (key(rsa.replacingOccurrences(of: "AQAB", with: "AQAB=")), "has e that is not unpadded base64url"),
        (key(rsa.replacingOccurrences(of: "ofgWC", with: "ofg+C")), "has n that is not unpadded base64url"),
        (
            key(ec.replacingOccurrences(of: "f83OJ3D2", with: "f83O")),
            "has P-256 coordinates that are not 32 bytes each"
        ),
        (key(ec.replacingOccurrences(of: "I5a0", with: "I5a4")), "is not a point on P-256"),
        (#"{"kty":"EC","crv":"P-256","x":"\#(RFCVectors.es256X)"}"#, "has no y string"),
        (key(okp.replacingOccurrences(of: "11qYAYKx", with: "11qY")), "has an Ed25519 public key that is not 32 bytes"),
        (key(okp, #""y":"AA""#), "is an Ed25519 key with a y member"),
        (key(rsa, #""kid":7"#), "has a kid member that is not a string"),
        (key(rsa, #""use":true"#), "has a use member that is not a string"),
        (key(rsa, #""key_ops":"verify""#), "has a key_ops member that is not an array of strings"),
        (#"{"n":"AQAB"}"#, "has no kty string"),
        (#"["RSA"]"#, "is not a JSON object"),
    ])
    func refusesMalformedOrWeakKeys(jwk: String, problem: String) {
        #expect(parse(Self.set(jwk)).error == ConfigurationError(setting: "\(Self.path) keys[0]", problem: problem))
    }

    @Test func refusesTwoKeysWithOneKid() {
        let result = parse(Self.set(Self.key(Self.rsa, #""kid":"k""#), Self.key(Self.okp, #""kid":"k""#)))
        #expect(
            result.error
                == ConfigurationError(setting: "\(Self.path) keys[1]", problem: "repeats the kid of an earlier key"))
    }

    @Test(arguments: [
        ("", "is not a JSON object (or repeats a member name)"),
        ("[]", "is not a JSON object (or repeats a member name)"),
        (#"{"keys":[],"keys":[]}"#, "is not a JSON object (or repeats a member name)"),
        (#"{"keys":{}}"#, "has no \"keys\" array"),
        (#"{"key":[]}"#, "has no \"keys\" array"),
        (#"{"keys":[]}"#, "has no usable signing key (RS256, ES256 or EdDSA); 0 skipped"),
        (set(key(rsa, #""use":"enc""#)), "has no usable signing key (RS256, ES256 or EdDSA); 1 skipped"),
    ])
    func refusesDocumentsWithoutUsableKeys(text: String, problem: String) {
        #expect(parse(text).error == ConfigurationError(setting: Self.path, problem: problem))
    }

    @Test func refusesDocumentsOverOneMebibyte() {
        let padding = String(repeating: " ", count: JSONWebKeySet.maximumBytes)
        #expect(
            parse(Self.set(Self.key(Self.okp)) + padding).error
                == ConfigurationError(setting: Self.path, problem: "is larger than 1 MiB"))
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
