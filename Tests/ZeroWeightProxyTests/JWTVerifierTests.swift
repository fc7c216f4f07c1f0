import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct JWTVerifierTests {
    static let time = 1_750_000_000
    static let now = Date(timeIntervalSince1970: TimeInterval(time))
    /// Before the RFC examples' `exp` of 1300819380 (2011-03-22).
    static let rfcTime = Date(timeIntervalSince1970: 1_300_819_000)
    static let secret = (0..<32).map { UInt8($0 * 37 & 0xFF) }
    static let allAlgorithms = Set(JWTAlgorithm.allCases)

    static let keySet = try! JSONWebKeySet(
        parsing: #"{"keys":[\#(TestSigner.rsa.jwk(["kid": "rsa"])),\#(TestSigner.p256.jwk(["kid": "ec"])),"#
            + #"\#(TestSigner.ed25519.jwk(["kid": "ed", "alg": "EdDSA"]))]}"#,
        path: "test-jwks.json")

    static func verifier(
        _ algorithms: Set<JWTAlgorithm> = allAlgorithms, keySet: JSONWebKeySet? = keySet, secret: [UInt8]? = secret,
        issuer: String? = nil, audience: String? = nil, leeway: Double = 60, maximumTokenBytes: Int = 8192
    ) -> JWTVerifier {
        JWTVerifier(
            try! JWTVerifier.Configuration(
                algorithms: algorithms, keySet: keySet, hmacSecret: algorithms.contains(.hs256) ? secret : nil,
                issuer: issuer, audience: audience, leeway: leeway, maximumTokenBytes: maximumTokenBytes))
    }

    static func header(_ algorithm: String, kid: String? = nil, _ extra: String = "") -> String {
        var members = [#""alg":"\#(algorithm)""#]
        if let kid { members.append(#""kid":"\#(kid)""#) }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Claims with `sub` and an `exp` five minutes after `time`, plus `extra` members.
    static func claims(_ extra: String = "") -> String {
        #"{"sub":"user-1","exp":\#(time + 300)"# + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    static func rsaToken(kid: String? = "rsa", claims: String = claims()) -> String {
        TestSigner.rsa.token(header: header("RS256", kid: kid), claims: claims)
    }

    static func hmacToken(_ header: String = header("HS256"), claims: String = claims(), key: [UInt8] = secret)
        -> String
    {
        TestSigner.hmacToken(header: header, claims: claims, key: key)
    }

    private func outcome(_ verifier: JWTVerifier, _ token: String, now: Date = now) -> Result<JWTClaims, JWTError> {
        Result { () throws(JWTError) in try verifier.verify(token, now: now) }
    }

    private func error(_ verifier: JWTVerifier, _ token: String, now: Date = now) -> JWTError? {
        if case .failure(let error) = outcome(verifier, token, now: now) { error } else { nil }
    }

    // MARK: RFC known answers

    @Test func verifiesRFC7515AppendixA1WithTheJWKKAsTheHMACSecret() throws {
        let verifier = JWTVerifier(
            try JWTVerifier.Configuration(algorithms: [.hs256], hmacSecret: RFCVectors.decoded(RFCVectors.hs256Key)))
        let claims = try outcome(verifier, RFCVectors.hs256Token, now: Self.rfcTime).get()
        #expect(claims.string("iss") == "joe")
        #expect(claims.values["exp"] == .number(1_300_819_380))
        #expect(claims.values["http://example.com/is_root"] == .bool(true))
        #expect(claims.subject == nil)
        #expect(error(verifier, RFCVectors.hs256Token, now: Date()) == .expired)
    }

    @Test func verifiesRFC7515AppendixA2() throws {
        let keys = try JSONWebKeySet(
            parsing: #"{"keys":[{"kty":"RSA","n":"\#(RFCVectors.rs256Modulus)","e":"AQAB"}]}"#, path: "a2")
        let verifier = JWTVerifier(try JWTVerifier.Configuration(algorithms: [.rs256], keySet: keys))
        #expect(try outcome(verifier, RFCVectors.rs256Token, now: Self.rfcTime).get().string("iss") == "joe")
        #expect(error(verifier, RFCVectors.rs256Token, now: Date()) == .expired)
    }

    @Test func verifiesRFC7515AppendixA3() throws {
        let keys = try JSONWebKeySet(
            parsing: #"{"keys":[{"kty":"EC","crv":"P-256","x":"\#(RFCVectors.es256X)","y":"\#(RFCVectors.es256Y)"}]}"#,
            path: "a3")
        let verifier = JWTVerifier(try JWTVerifier.Configuration(algorithms: [.es256], keySet: keys))
        #expect(try outcome(verifier, RFCVectors.es256Token, now: Self.rfcTime).get().string("iss") == "joe")
        #expect(error(verifier, RFCVectors.es256Token, now: Date()) == .expired)
    }

    /// RFC 8037 A.4/A.5 sign "Example of Ed25519 signing", which is not a claims object: the
    /// signature verifies, then the claims are refused; an altered signature fails earlier.
    @Test func checksTheRFC8037AppendixA4SignatureBeforeRefusingItsNonJSONPayload() throws {
        let keys = try JSONWebKeySet(
            parsing: #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"\#(RFCVectors.ed25519X)"}]}"#, path: "a4")
        let verifier = JWTVerifier(try JWTVerifier.Configuration(algorithms: [.edDSA], keySet: keys))
        #expect(error(verifier, RFCVectors.ed25519Token, now: Self.rfcTime) == .malformed)
        let altered = String(RFCVectors.ed25519Token.dropLast()) + "A"
        #expect(error(verifier, altered, now: Self.rfcTime) == .badSignature)
    }

    // MARK: Tokens that verify

    @Test(arguments: [
        (TestSigner.rsa, "RS256", "rsa"), (TestSigner.p256, "ES256", "ec"), (TestSigner.ed25519, "EdDSA", "ed"),
    ])
    func verifiesTokensSignedByTheOpenSSLCommandLine(signer: TestSigner, algorithm: String, kid: String) throws {
        for keyID in [kid, nil] {
            let token = signer.token(header: Self.header(algorithm, kid: keyID), claims: Self.claims())
            let claims = try outcome(Self.verifier(), token).get()
            #expect(claims.subject == "user-1")
            #expect(try outcome(Self.verifier([signer.algorithm]), token).get().subject == "user-1")
        }
    }

    @Test func verifiesHS256TokensWithTheSecret() throws {
        #expect(try outcome(Self.verifier(), Self.hmacToken()).get().subject == "user-1")
        #expect(try outcome(Self.verifier([.hs256], keySet: nil), Self.hmacToken()).get().subject == "user-1")
    }

    @Test func sharesOneVerifierAndItsKeysAcrossConcurrentTasks() async {
        let verifier = Self.verifier()
        let tokens = Self.genuineTokens
        let subjects = await withTaskGroup(of: String?.self) { group in
            for index in 0..<64 {
                group.addTask { try? verifier.verify(tokens[index % tokens.count], now: Self.now).subject }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(subjects == [String?](repeating: "user-1", count: 64))
    }

    @Test func triesEveryKeyBoundToTheAlgorithmWhenThereIsNoKid() throws {
        let keys = try JSONWebKeySet(
            parsing: #"{"keys":[\#(TestSigner.rsa.jwk(["kid": "r1"])),\#(TestSigner.otherRSA.jwk(["kid": "r2"]))]}"#,
            path: "two")
        let verifier = Self.verifier([.rs256], keySet: keys)
        let token = TestSigner.otherRSA.token(header: Self.header("RS256"), claims: Self.claims())
        #expect(try outcome(verifier, token).get().subject == "user-1")
        let named = TestSigner.otherRSA.token(header: Self.header("RS256", kid: "r1"), claims: Self.claims())
        #expect(error(verifier, named) == .badSignature)
    }

    @Test(arguments: ["JWT", "jwt", "Jwt"])
    func acceptsTypJWTInAnyCase(type: String) throws {
        let token = Self.hmacToken(Self.header("HS256", #""typ":"\#(type)""#))
        #expect(try outcome(Self.verifier(), token).get().subject == "user-1")
    }

    // MARK: Claims

    @Test func readsClaimsByNameAndByDottedPath() throws {
        let token = Self.rsaToken(
            claims: Self.claims(
                #""org":{"id":"acme","team":{"name":"core"},"size":3},"org.id":"literal","email":"a@b.example","#
                    + #""https://example.com/tenant":"t-1","roles":["a"]"#))
        let claims = try outcome(Self.verifier(), token).get()
        #expect(claims.subject == "user-1")
        #expect(claims.string("email") == "a@b.example")
        #expect(claims.string("org.id") == "literal")
        #expect(claims.string("org.team.name") == "core")
        #expect(claims.string("https://example.com/tenant") == "t-1")
        #expect(claims.string("org.size") == nil)
        #expect(claims.string("org") == nil)
        #expect(claims.string("roles") == nil)
        #expect(claims.string("org.missing") == nil)
        #expect(claims.string("org..id") == nil)
        #expect(claims.string("org.team.") == nil)
        #expect(claims.string("exp") == nil)
        #expect(claims.values["roles"] == .array([.string("a")]))
    }

    // MARK: Algorithm attacks

    @Test(arguments: ["none", "None", "NONE", "nOnE"])
    func refusesAlgNoneWithAndWithoutASignature(algorithm: String) {
        let input = TestSigner.signingInput(header: Self.header(algorithm), claims: Self.claims())
        #expect(error(Self.verifier(), input + ".") == .algorithmNotAllowed)
        #expect(error(Self.verifier(), input + ".c2lnbmF0dXJl") == .algorithmNotAllowed)
        let macced = input + "." + Base64URL.encode(TestSigner.hmac(key: Self.secret, message: Array(input.utf8)))
        #expect(error(Self.verifier(), macced) == .algorithmNotAllowed)
    }

    @Test(arguments: [
        "HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "ES256K", "Ed25519", "", "hs256", "HS256 ", "rs256",
    ])
    func refusesAlgorithmsOutsideTheKnownSet(algorithm: String) {
        #expect(error(Self.verifier(), Self.hmacToken(Self.header(algorithm))) == .algorithmNotAllowed)
    }

    @Test func refusesKnownAlgorithmsTheConfigurationDoesNotAllow() {
        let rsaOnly = Self.verifier([.rs256])
        #expect(error(rsaOnly, Self.hmacToken()) == .algorithmNotAllowed)
        let ecToken = TestSigner.p256.token(header: Self.header("ES256", kid: "ec"), claims: Self.claims())
        #expect(error(rsaOnly, ecToken) == .algorithmNotAllowed)
        #expect(error(Self.verifier([.es256]), Self.rsaToken()) == .algorithmNotAllowed)
    }

    /// RS256 -> HS256 confusion: the attacker MACs a token with the RSA public key they can read.
    static let publicKeyAsSecret: [[UInt8]] = [
        TestSigner.rsa.publicKeyDER, TestSigner.rsa.publicKeyPEM, Array(TestSigner.rsa.publicKeyPEM.dropLast()),
        RFCVectors.decoded(TestSigner.rsa.jwkMembers["n"]!), Array(TestSigner.rsa.jwk(["kid": "rsa"]).utf8),
    ]

    @Test(arguments: publicKeyAsSecret)
    func refusesHS256TokensMACedWithTheRSAPublicKey(key: [UInt8]) {
        let forged = Self.hmacToken(key: key)
        let forgedWithKid = Self.hmacToken(Self.header("HS256", kid: "rsa"), key: key)
        // Only RS256 allowed: HS256 is refused outright.
        #expect(error(Self.verifier([.rs256]), forged) == .algorithmNotAllowed)
        #expect(error(Self.verifier([.rs256]), forgedWithKid) == .algorithmNotAllowed)
        // HS256 allowed too: the RSA key is never an HMAC secret, so the MAC is checked with the secret.
        #expect(error(Self.verifier(), forged) == .badSignature)
        #expect(error(Self.verifier(), forgedWithKid) == .unknownKey)
    }

    // MARK: Key choice

    @Test(arguments: [
        (TestSigner.rsa, "RS256", "nope"), (TestSigner.rsa, "RS256", "RSA"), (TestSigner.rsa, "RS256", ""),
        (TestSigner.p256, "ES256", "rsa "),
    ])
    func refusesAnUnknownKid(signer: TestSigner, algorithm: String, kid: String) {
        let token = signer.token(header: Self.header(algorithm, kid: kid), claims: Self.claims())
        #expect(error(Self.verifier(), token) == .unknownKey)
    }

    @Test(arguments: [
        (TestSigner.p256, "ES256", "rsa"), (TestSigner.rsa, "RS256", "ec"), (TestSigner.ed25519, "EdDSA", "rsa"),
        (TestSigner.rsa, "RS256", "ed"),
    ])
    func refusesAKidThatNamesAKeyOfAnotherAlgorithm(signer: TestSigner, algorithm: String, kid: String) {
        let token = signer.token(header: Self.header(algorithm, kid: kid), claims: Self.claims())
        #expect(error(Self.verifier(), token) == .unknownKey)
    }

    @Test func refusesAnHS256TokenWithAKidBecauseTheSecretHasNone() {
        #expect(error(Self.verifier(), Self.hmacToken(Self.header("HS256", kid: "ed"))) == .unknownKey)
        #expect(error(Self.verifier(), Self.hmacToken(Self.header("HS256", kid: "secret"))) == .unknownKey)
    }

    @Test func refusesAnAlgorithmWithNoKeyBoundToIt() throws {
        let rsaKeys = try JSONWebKeySet(parsing: #"{"keys":[\#(TestSigner.rsa.jwk())]}"#, path: "rsa")
        let token = TestSigner.p256.token(header: Self.header("ES256"), claims: Self.claims())
        #expect(error(Self.verifier([.rs256, .es256], keySet: rsaKeys), token) == .unknownKey)
    }

    @Test func ignoresKeysAndKeyURLsNamedInTheHeader() {
        let attacker = TestSigner.otherRSA
        let fields =
            #""jku":"https://attacker.example/jwks","x5u":"https://attacker.example/cert","jwk":\#(attacker.jwk()),"#
            + #""x5c":["MIIB"]"#
        let forged = attacker.token(header: Self.header("RS256", fields), claims: Self.claims())
        #expect(error(Self.verifier(), forged) == .badSignature)
        let genuine = TestSigner.rsa.token(header: Self.header("RS256", kid: "rsa", fields), claims: Self.claims())
        #expect(error(Self.verifier(), genuine) == nil)
    }

    // MARK: Signatures

    @Test(arguments: [
        (TestSigner.otherRSA, "RS256", "rsa"), (TestSigner.otherP256, "ES256", "ec"),
        (TestSigner.otherEd25519, "EdDSA", "ed"),
    ])
    func refusesASignatureByAnotherKey(signer: TestSigner, algorithm: String, kid: String) {
        let token = signer.token(header: Self.header(algorithm, kid: kid), claims: Self.claims())
        #expect(error(Self.verifier(), token) == .badSignature)
    }

    @Test func refusesAnHS256TokenMACedWithAnotherSecret() {
        #expect(error(Self.verifier(), Self.hmacToken(key: Self.secret.reversed())) == .badSignature)
        var changed = Self.secret
        changed[0] ^= 0x80
        #expect(error(Self.verifier(), Self.hmacToken(key: changed)) == .badSignature)
    }

    static let genuineTokens = [
        rsaToken(), hmacToken(),
        TestSigner.p256.token(header: header("ES256", kid: "ec"), claims: claims()),
        TestSigner.ed25519.token(header: header("EdDSA", kid: "ed"), claims: claims()),
    ]

    @Test(arguments: genuineTokens)
    func refusesATamperedPayload(token: String) {
        let parts = token.split(separator: ".")
        let tampered = Base64URL.encode(Array(Self.claims(#""admin":true"#).utf8))
        #expect(error(Self.verifier(), "\(parts[0]).\(tampered).\(parts[2])") == .badSignature)
        let swapped = Base64URL.encode(Array(Self.claims().replacingOccurrences(of: "user-1", with: "user-2").utf8))
        #expect(error(Self.verifier(), "\(parts[0]).\(swapped).\(parts[2])") == .badSignature)
    }

    @Test(arguments: genuineTokens)
    func refusesATamperedOrMissingSignature(token: String) {
        let parts = token.split(separator: ".")
        var signature = Base64URL.decode(parts[2])!
        signature[signature.count / 2] ^= 0x01
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(Base64URL.encode(signature))") == .badSignature)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).") == .badSignature)
        let truncated = Base64URL.encode(Base64URL.decode(parts[2])!.dropLast(3))
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(truncated)") == .badSignature)
    }

    @Test func checksTheSignatureBeforeAnyClaim() {
        let expired = #"{"exp":\#(Self.time - 3600),"iss":"other","aud":"other"}"#
        let forged = TestSigner.otherRSA.token(header: Self.header("RS256", kid: "rsa"), claims: expired)
        #expect(error(Self.verifier(issuer: "me", audience: "me"), forged) == .badSignature)
        let noExpiry = TestSigner.otherRSA.token(header: Self.header("RS256", kid: "rsa"), claims: "{}")
        #expect(error(Self.verifier(), noExpiry) == .badSignature)
    }

    // MARK: Times

    @Test(
        arguments: [
            // (leeway, exp - now, nbf - now, expected)
            (60.0, 300.0, nil, nil), (60, 0, nil, nil), (60, -59, nil, nil), (60, -59.5, nil, nil),
            (60, -60, nil, JWTError.expired), (60, -61, nil, .expired), (60, -3600, nil, .expired),
            (0, 1, nil, nil), (0, 0.001, nil, nil), (0, 0, nil, .expired), (0, -1, nil, .expired),
            (60, 300, -3600, nil), (60, 300, 0, nil), (60, 300, 60, nil), (60, 300, 60.5, .notYetValid),
            (60, 300, 61, .notYetValid), (60, 300, 3600, .notYetValid),
            (0, 300, 0, nil), (0, 300, 0.5, .notYetValid), (0, 300, 1, .notYetValid),
            (60, -61, 61, .expired),
        ] as [(Double, Double, Double?, JWTError?)])
    func appliesExpAndNbfWithLeeway(leeway: Double, expiresIn: Double, notBeforeIn: Double?, expected: JWTError?) {
        var members = #"{"sub":"user-1","exp":\#(Double(Self.time) + expiresIn)"#
        if let notBeforeIn { members += #","nbf":\#(Double(Self.time) + notBeforeIn)"# }
        let token = Self.rsaToken(claims: members + "}")
        #expect(error(Self.verifier(leeway: leeway), token) == expected)
    }

    @Test(arguments: [
        (#"{"sub":"user-1"}"#, JWTError.missingExpiry),
        (#"{"sub":"user-1","nbf":1}"#, .missingExpiry),
        (#"{"exp":"\#(time + 300)"}"#, .malformed),
        (#"{"exp":null}"#, .malformed),
        (#"{"exp":[\#(time + 300)]}"#, .malformed),
        (#"{"exp":\#(time + 300),"nbf":"0"}"#, .malformed),
        (#"{"exp":\#(time + 300),"nbf":true}"#, .malformed),
    ])
    func requiresNumericExpAndNbf(claims: String, expected: JWTError) {
        #expect(error(Self.verifier(), Self.rsaToken(claims: claims)) == expected)
    }

    // MARK: Issuer and audience

    @Test(
        arguments: [
            (#""iss":"https://issuer.example""#, nil),
            (#""iss":"https://issuer.example/""#, JWTError.wrongIssuer),
            (#""iss":"HTTPS://ISSUER.EXAMPLE""#, .wrongIssuer),
            (#""iss":"https://other.example""#, .wrongIssuer),
            (#""iss":["https://issuer.example"]"#, .wrongIssuer),
            (#""iss":7"#, .wrongIssuer),
            (#""issuer":"https://issuer.example""#, .wrongIssuer),
        ] as [(String, JWTError?)])
    func requiresTheConfiguredIssuer(member: String, expected: JWTError?) {
        let token = Self.rsaToken(claims: Self.claims(member))
        #expect(error(Self.verifier(issuer: "https://issuer.example"), token) == expected)
    }

    @Test func comparesIssuersByteForByteNotByUnicodeEquivalence() {
        let composed = "https://caf\u{E9}.example"
        let decomposed = "https://cafe\u{301}.example"
        #expect(composed == decomposed)  // Swift's String equality would let this through.
        let token = Self.rsaToken(claims: Self.claims(#""iss":"\#(decomposed)""#))
        #expect(error(Self.verifier(issuer: composed), token) == .wrongIssuer)
        #expect(error(Self.verifier(issuer: decomposed), token) == nil)
    }

    @Test func skipsTheIssuerCheckWhenNoneIsConfigured() {
        #expect(error(Self.verifier(), Self.rsaToken(claims: Self.claims(#""iss":"anyone""#))) == nil)
    }

    @Test(
        arguments: [
            (#""aud":"zw-proxy""#, nil),
            (#""aud":["zw-proxy"]"#, nil),
            (#""aud":["other","zw-proxy"]"#, nil),
            (#""aud":[7,"zw-proxy"]"#, nil),
            (#""aud":"other""#, JWTError.wrongAudience),
            (#""aud":"zw-proxy ""#, .wrongAudience),
            (#""aud":"ZW-PROXY""#, .wrongAudience),
            (#""aud":["other"]"#, .wrongAudience),
            (#""aud":[]"#, .wrongAudience),
            (#""aud":[["zw-proxy"]]"#, .wrongAudience),
            (#""aud":{"zw-proxy":true}"#, .wrongAudience),
            (#""aud":null"#, .wrongAudience),
            (#""audience":"zw-proxy""#, .wrongAudience),
        ] as [(String, JWTError?)])
    func requiresTheConfiguredAudience(member: String, expected: JWTError?) {
        let token = Self.rsaToken(claims: Self.claims(member))
        #expect(error(Self.verifier(audience: "zw-proxy"), token) == expected)
    }

    @Test func skipsTheAudienceCheckWhenNoneIsConfigured() {
        #expect(error(Self.verifier(), Self.rsaToken(claims: Self.claims(#""aud":"other""#))) == nil)
    }

    @Test func checksExpiryThenIssuerThenAudience() {
        let claims = #"{"exp":\#(Self.time + 300),"iss":"other","aud":"other"}"#
        #expect(error(Self.verifier(issuer: "me", audience: "me"), Self.rsaToken(claims: claims)) == .wrongIssuer)
        #expect(error(Self.verifier(audience: "me"), Self.rsaToken(claims: claims)) == .wrongAudience)
    }

    // MARK: Malformed tokens

    @Test func refusesOversizeTokensBeforeDecoding() {
        let limit = 8192
        #expect(error(Self.verifier(), String(repeating: "!", count: limit + 1)) == .tooLarge)
        #expect(error(Self.verifier(), String(repeating: "!", count: limit)) == .malformed)
        let token = Self.rsaToken()
        #expect(error(Self.verifier(maximumTokenBytes: token.utf8.count), token) == nil)
        #expect(error(Self.verifier(maximumTokenBytes: token.utf8.count - 1), token) == .tooLarge)
        let multibyte = String(repeating: "é", count: limit / 2 + 1)
        #expect(error(Self.verifier(), multibyte) == .tooLarge)
    }

    @Test func refusesTokensWithoutExactlyThreeParts() {
        let parts = Self.rsaToken().split(separator: ".")
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1])") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0])") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(parts[2]).\(parts[2])") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(parts[2]).") == .malformed)
        #expect(error(Self.verifier(), ".\(parts[0]).\(parts[1]).\(parts[2])") == .malformed)
        for token in ["", ".", "..", "...", "a.b.c.d.e"] {
            #expect(error(Self.verifier(), token) == .malformed)
        }
    }

    @Test func refusesNonCanonicalBase64URLInAnyPart() {
        let token = Self.hmacToken()
        let parts = token.split(separator: ".").map(String.init)
        #expect(error(Self.verifier(), "\(parts[0])==.\(parts[1]).\(parts[2])") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(parts[2])=") == .malformed)
        #expect(error(Self.verifier(), "+\(parts[0].dropFirst()).\(parts[1]).\(parts[2])") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).+\(parts[2].dropFirst())") == .malformed)
        #expect(error(Self.verifier(), "\(parts[0]).\(parts[1]).\(parts[2].dropFirst())/") == .malformed)
        #expect(error(Self.verifier(), " \(token)") == .malformed)
        #expect(error(Self.verifier(), "\(token)\n") == .malformed)
        // A payload with padding or '+' is refused even when the signature over its text is right.
        for payload in [parts[1] + "=", parts[1] + "==", "+" + parts[1].dropFirst()] {
            let input = parts[0] + "." + payload
            let mac = Base64URL.encode(TestSigner.hmac(key: Self.secret, message: Array(input.utf8)))
            #expect(error(Self.verifier(), input + "." + mac) == .malformed)
        }
    }

    static let malformedHeaders: [[UInt8]] =
        [
            #"{"alg":"HS256""#, #"[]"#, #"["HS256"]"#, #""HS256""#, "", " ", "null", #"{"alg":"HS256"} x"#,
            #"{"alg":"HS256"}{}"#, #"{"alg":"HS256",}"#, #"{'alg':'HS256'}"#, #"{"alg":HS256}"#, #"{alg:"HS256"}"#,
            #"{"alg":"RS256","alg":"HS256"}"#, #"{"alg":"HS256","alg":"HS256"}"#, #"{"alg":"HS256","x":"\ud800"}"#,
            #"{"alg":"HS256","x":"\udc00\ud800"}"#, #"{"alg":"HS256","x":"\x"}"#, #"{"alg":"HS256","x":01}"#,
            #"{"alg":"HS256","x":1.}"#, #"{"alg":"HS256","x":1e999}"#, #"{"alg":"HS256","x":NaN}"#,
            "{\"alg\":\"HS256\",\"x\":\"a\tb\"}",
            #"{"alg":"HS256","x":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}",
            #"{}"#, #"{"alg":null}"#, #"{"alg":1}"#, #"{"alg":["HS256"]}"#, #"{"typ":"JWT"}"#,
            #"{"alg":"HS256","typ":"at+jwt"}"#, #"{"alg":"HS256","typ":"JOSE"}"#, #"{"alg":"HS256","typ":"JWT "}"#,
            #"{"alg":"HS256","typ":7}"#, #"{"alg":"HS256","crit":["exp"]}"#, #"{"alg":"HS256","crit":[]}"#,
            #"{"alg":"HS256","b64":false,"crit":["b64"]}"#, #"{"alg":"HS256","kid":7}"#, #"{"alg":"HS256","kid":null}"#,
        ].map { Array($0.utf8) } + [[0x7B, 0x22, 0x61, 0x6C, 0x67, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]]

    @Test(arguments: malformedHeaders)
    func refusesMalformedOrUnsupportedHeaders(header: [UInt8]) {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(Array(Self.claims().utf8))
        let token = input + "." + Base64URL.encode(TestSigner.hmac(key: Self.secret, message: Array(input.utf8)))
        #expect(error(Self.verifier(), token) == .malformed)
    }

    @Test(arguments: [
        "[]", #""user-1""#, "7", "null", #"{"sub":"a","sub":"b","exp":\#(time + 300)}"#,
        #"{"sub":"user-1","exp":\#(time + 300)"#, #"{"sub":"\ud800","exp":\#(time + 300)}"#,
    ])
    func refusesClaimsThatAreNotOneStrictJSONObjectEvenWhenSigned(claims: String) {
        #expect(error(Self.verifier(), Self.rsaToken(claims: claims)) == .malformed)
        #expect(error(Self.verifier(), Self.hmacToken(claims: claims)) == .malformed)
    }

    @Test func parsesJSONValuesStrictly() {
        let parse = { (text: String) in JSONValue(parsing: Array(text.utf8)) }
        #expect(
            parse(#" {"a":[1,-2.5e3,true,false,null,"x\n\u00e9\ud83d\ude00"]} "#)
                == .object([
                    "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x\né😀")])
                ]))
        #expect(parse(#"{"a":1}"#)?.objectValue?["a"]?.numberValue == 1)
        #expect(parse("\"caf\u{E9}\"")?.stringValue == "café")
        #expect(parse(#"{"a":{},"b":{}}"#) != nil)
        #expect(parse(#"{"a":1,"a":1}"#) == nil)
        #expect(parse(#"{"a":{"b":1,"b":2}}"#) == nil)
        #expect(parse("-") == nil)
        #expect(parse("1 2") == nil)
        #expect(JSONValue(parsing: Array("[[[1]]]".utf8), maximumDepth: 2) == nil)
        #expect(JSONValue(parsing: Array("[[[1]]]".utf8), maximumDepth: 3) != nil)
    }

    // MARK: Errors and configuration

    @Test(arguments: [
        (JWTError.malformed, "malformed_token"), (.tooLarge, "token_too_large"),
        (.algorithmNotAllowed, "algorithm_not_allowed"), (.unknownKey, "unknown_key"), (.badSignature, "bad_signature"),
        (.expired, "token_expired"), (.notYetValid, "token_not_yet_valid"), (.wrongIssuer, "wrong_issuer"),
        (.wrongAudience, "wrong_audience"), (.missingExpiry, "missing_expiry"),
    ])
    func errorsHaveStableCodesAndFixedMessages(error: JWTError, code: String) {
        #expect(error.code == code)
        #expect(error.description == "\(code): \(error.message)")
        #expect(!error.message.isEmpty)
        #expect(!error.message.contains("{"))
    }

    @Test func errorsNeverEchoTheToken() {
        let token = Self.rsaToken(claims: #"{"sub":"secret-subject-value","exp":1}"#)
        let refused = error(Self.verifier(), token)
        #expect(refused == .expired)
        let text = String(describing: refused)
        #expect(!text.contains("secret-subject-value"))
        #expect(!text.contains(token.split(separator: ".")[1]))
    }

    @Test(
        arguments: [
            (
                Set<JWTAlgorithm>(), nil, nil, 60.0, 8192,
                ConfigurationError(setting: "JWT algorithms", problem: "must name at least one algorithm")
            ),
            (
                [.hs256], nil, nil, 60, 8192,
                ConfigurationError(setting: "JWT HMAC secret", problem: "is required when HS256 is allowed")
            ),
            (
                [.hs256], nil, [UInt8](repeating: 7, count: 31), 60, 8192,
                ConfigurationError(
                    setting: "JWT HMAC secret", problem: "is shorter than 32 bytes; use random bytes, not a password")
            ),
            (
                [.rs256], keySet, [UInt8](repeating: 7, count: 32), 60, 8192,
                ConfigurationError(setting: "JWT HMAC secret", problem: "is set but HS256 is not allowed")
            ),
            (
                [.hs256, .es256], nil, [UInt8](repeating: 7, count: 32), 60, 8192,
                ConfigurationError(setting: "JWT key set", problem: "is required when RS256, ES256 or EdDSA is allowed")
            ),
            (
                [.rs256], keySet, nil, -1, 8192,
                ConfigurationError(setting: "JWT leeway", problem: "must be from 0 to 600 seconds")
            ),
            (
                [.rs256], keySet, nil, .nan, 8192,
                ConfigurationError(setting: "JWT leeway", problem: "must be from 0 to 600 seconds")
            ),
            (
                [.rs256], keySet, nil, 601, 8192,
                ConfigurationError(setting: "JWT leeway", problem: "must be from 0 to 600 seconds")
            ),
            (
                [.rs256], keySet, nil, 60, 63,
                ConfigurationError(setting: "JWT maximum token size", problem: "must be at least 64 bytes")
            ),
        ] as [(Set<JWTAlgorithm>, JSONWebKeySet?, [UInt8]?, Double, Int, ConfigurationError)])
    func refusesConfigurationsThatCannotVerifySafely(
        algorithms: Set<JWTAlgorithm>, keySet: JSONWebKeySet?, secret: [UInt8]?, leeway: Double, maximum: Int,
        expected: ConfigurationError
    ) {
        let result = Result { () throws(ConfigurationError) in
            try JWTVerifier.Configuration(
                algorithms: algorithms, keySet: keySet, hmacSecret: secret, leeway: leeway, maximumTokenBytes: maximum)
        }
        guard case .failure(let error) = result else {
            Issue.record("configuration accepted")
            return
        }
        #expect(error == expected)
    }

    @Test func neverPrintsTheSecret() throws {
        let configuration = try JWTVerifier.Configuration(
            algorithms: [.hs256, .rs256], keySet: Self.keySet, hmacSecret: [UInt8](repeating: 171, count: 40))
        let verifier = JWTVerifier(configuration)
        var dumped = ""
        dump(verifier, to: &dumped)
        dump(configuration, to: &dumped)
        for text in [
            dumped, String(describing: verifier), String(reflecting: verifier), String(describing: configuration),
            String(reflecting: configuration),
        ] {
            #expect(!text.contains("171"))
        }
        #expect(
            String(describing: configuration)
                == "algorithms: [HS256, RS256], keys: 3, hmacSecret: <redacted>, issuer: any, audience: any, "
                + "leeway: 60.0, maximumTokenBytes: 8192")
        #expect(configuration.hasHMACSecret)
    }

    @Test func acceptsAThirtyTwoByteSecretAndDefaults() throws {
        let configuration = try JWTVerifier.Configuration(
            algorithms: [.hs256], hmacSecret: [UInt8](repeating: 7, count: 32))
        #expect(configuration.leeway == 60)
        #expect(configuration.maximumTokenBytes == 8192)
        #expect(configuration.issuer == nil && configuration.audience == nil && configuration.keySet == nil)
    }
}
