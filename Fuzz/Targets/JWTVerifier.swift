// Fuzzes JWT verification: JWTVerifier.verify with Base64URL and the JSONValue header and claims parser.
// Input: a token, checked as given against keys the fuzzer cannot know; and, when the input has a NUL,
// header JSON before it and claims JSON after it, which this target encodes and signs with a known
// HS256 secret so the claim checks behind the signature are reached too.

import Foundation

@testable import ZeroWeightProxy

/// Public keys whose private halves were thrown away: nothing can sign for them.
private let keySet = try! JSONWebKeySet(
    parsing: #"{"keys":[{"kty":"RSA","kid":"rsa-1","use":"sig","alg":"RS256","n":"pq5007ntIXdNqONwfs8Kugz4"#
        + #"vupPZ4W8XNVg75NR4Og9MeePVPvSw5ZgejKbC4SNSES77xFwVdYY_oYNa78MR1wcARFDN7tdg4t2vxEdakEOxwIRbvcKNnG4soUE"#
        + #"tdFIra-CSiFZOR_ULBaqzKKgl-G5M257omklaA9M9hpVqPw-EjknP7e4dCOMMrw9ZDywoUC39-6nZJTz_gvocIBSydaP2F4iojL-"#
        + #"MDudmduvZR54GLAjg5DzGbRtxNe7WwWs60vr1p0g5ZS-JufYXwMvRQZA_SlMEcIFI3MtwR0QcRG_sWHxa2hSOljM4Tq1f8KAReDs"#
        + #"zobYaGSs1tATrYKXZQ","e":"AQAB"},{"kty":"EC","kid":"ec-1","crv":"P-256","#
        + #""x":"sDzbCc7XdCVVRyNNrPGoqN5MiFBSdp5BU-JdxmdQDg4","y":"ZQudIrclQiI_bow0reJYXkb9_xgzBOampOtwlaR1Lq0"},"#
        + #"{"kty":"OKP","kid":"ed-1","crv":"Ed25519","x":"0uYbHIOPRiJmCzlDcBN99lio-cOa7r1J7Itj1SBJoiI"}]}"#,
    path: "fuzz-jwks.json")
/// A fresh secret per run: no input can carry a valid HS256 signature for it.
private let randomSecret: [UInt8] = {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in generator.next() as UInt8 }
}()
/// The secret this target signs with (and `Fuzz/corpus/JWTVerifier` seeds were signed with).
private let knownSecret = Array("zeroweight-proxy fuzz HS256 key!".utf8)
private let issuer = "https://issuer.example"
private let audience = "zeroweight"
private let now = Date(timeIntervalSince1970: 1_700_000_000)
private let leeway = 60.0

private let unknowable = JWTVerifier(
    try! .init(algorithms: Set(JWTAlgorithm.allCases), keySet: keySet, hmacSecret: randomSecret))
private let known = JWTVerifier(
    try! .init(
        algorithms: Set(JWTAlgorithm.allCases), keySet: keySet, hmacSecret: knownSecret, issuer: issuer,
        audience: audience, leeway: leeway))
/// Errors possible before the signature has verified; a claims error first would mean claims were read early.
private let signatureStageErrors: [JWTError] = [
    .tooLarge, .malformed, .algorithmNotAllowed, .unknownKey, .badSignature,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWTVerifier(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    check(token: Fuzz.text(bytes))
    for part in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
        if let decoded = Base64URL.decode(bytes: part) {
            Fuzz.require(Base64URL.encode(decoded).utf8.elementsEqual(part), "base64url is not canonical")
        }
    }
    Fuzz.require(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "base64url round trip")

    if let separator = bytes.firstIndex(of: 0) {
        let header = bytes[..<separator]
        let claims = bytes[(separator + 1)...]
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(claims)
        let signature = LibCrypto.hmacSHA256(key: knownSecret, message: Array(signingInput.utf8))!
        let token = signingInput + "." + Base64URL.encode(signature)
        check(token: token)
        checkSigned(token: token, header: Array(header), claims: Array(claims))
    }
    return 0
}

/// No token verifies against keys nobody has, and the refusal comes before the claims are read.
private func check(token: String) {
    do throws(JWTError) {
        let claims = try unknowable.verify(token, now: now)
        Fuzz.fail("verified without the key: \(claims)")
    } catch {
        Fuzz.require(signatureStageErrors.contains(error), "claims checked before the signature: \(error)")
    }
    if let claims = try? known.verify(token, now: now) { checkAccepted(claims) }
}

/// A token signed with the known secret: accepted exactly when its header and claims pass every check.
private func checkSigned(token: String, header: [UInt8], claims: [UInt8]) {
    let headerObject = JSONValue(parsing: header)?.objectValue
    do throws(JWTError) {
        let verified = try known.verify(token, now: now)
        Fuzz.require(headerObject?["alg"]?.stringValue == "HS256", "a non-HS256 header verified with the secret")
        Fuzz.require(verified.values == JSONValue(parsing: claims)?.objectValue, "claims are not the payload")
        checkAccepted(verified)
    } catch {
        let plainHS256 =
            headerObject?["alg"] == .string("HS256") && headerObject?["kid"] == nil && token.utf8.count <= 8192
        Fuzz.require(!(plainHS256 && error == .badSignature), "a correct HS256 signature was refused")
    }
}

/// The claims of an accepted token satisfy every configured check.
private func checkAccepted(_ claims: JWTClaims) {
    let time = now.timeIntervalSince1970
    guard let expiry = claims.values["exp"]?.numberValue else { Fuzz.fail("accepted without exp") }
    Fuzz.require(time < expiry + leeway, "accepted an expired token")
    if let notBefore = claims.values["nbf"] {
        Fuzz.require(notBefore.numberValue.map { time >= $0 - leeway } ?? false, "accepted before nbf")
    }
    Fuzz.require(claims.values["iss"] == .string(issuer), "accepted another issuer")
    let audiences: [JSONValue] =
        switch claims.values["aud"] {
        case .array(let list)?: list
        case let single?: [single]
        case nil: []
        }
    Fuzz.require(audiences.contains(.string(audience)), "accepted another audience")
    _ = claims.string("org.id")
    _ = claims.subject
}
