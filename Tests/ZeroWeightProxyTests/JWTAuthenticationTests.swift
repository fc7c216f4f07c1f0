import Foundation
import Testing

@testable import ZeroWeightProxy

/// `auth = jwt` as `Authenticator` runs it: where the token is read from, and what the verified
/// claims make of the caller.
@Suite struct JWTAuthenticationTests {
    static let time = 1_750_000_000
    static let now = Date(timeIntervalSince1970: TimeInterval(time))
    static let secret = (0..<32).map { UInt8($0 * 37 & 0xFF) }
    static let verifier = JWTVerifier(try! JWTVerifier.Configuration(algorithms: [.hs256], hmacSecret: secret))
    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    /// An HS256 token whose claims are `members` and an `exp` five minutes after `time`.
    static func token(_ members: String, key: [UInt8] = secret) -> String {
        let claims = "{" + (members.isEmpty ? "" : members + ",") + #""exp":\#(time + 300)}"#
        return TestSigner.hmacToken(header: header, claims: claims, key: key)
    }

    static let alice = token(#""sub":"alice""#)
    static let bob = token(#""sub":"bob""#)
    static let aliceCaller = Caller(subject: "alice", tenant: nil, boundName: "alice")
    static let bobCaller = Caller(subject: "bob", tenant: nil, boundName: "bob")
    static let withCookie = JWTAuthentication(verifier: verifier, cookie: "zw_session")

    private func authenticate(
        _ environment: [String: String], _ jwt: JWTAuthentication = JWTAuthentication(verifier: verifier)
    ) -> Authenticator.Outcome {
        Authenticator(mode: .jwt(jwt)).authenticate(environment, now: Self.now)
    }

    // MARK: The Authorization header

    @Test(arguments: ["Bearer", "bearer", "BEARER", "bEaReR"])
    func theBearerSchemeIsCaseInsensitive(scheme: String) {
        let outcome = authenticate(["HTTP_AUTHORIZATION": "\(scheme) \(Self.alice)"])
        #expect(outcome == .authenticated(Self.aliceCaller))
        #expect(outcome.logValue == "ok")
    }

    @Test(arguments: ["Bearer  TOKEN", "  Bearer TOKEN", "Bearer TOKEN   ", "bearer \t TOKEN \t", "Bearer     TOKEN "])
    func spacesAroundTheTokenAreIgnored(header: String) {
        let environment = ["HTTP_AUTHORIZATION": header.replacingOccurrences(of: "TOKEN", with: Self.alice)]
        #expect(authenticate(environment) == .authenticated(Self.aliceCaller))
    }

    @Test(arguments: ["Bearer", "Bearer ", "Bearer    ", "bearer \t", "BEARER \t \t"])
    func anEmptyBearerTokenIsMissing(header: String) {
        let outcome = authenticate(["HTTP_AUTHORIZATION": header])
        #expect(outcome == .missing(.authenticationRequired))
        #expect(outcome.logValue == "missing")
    }

    @Test(arguments: [
        nil, "", "Basic YWxpY2U6c2VjcmV0", "Basic \(alice)", "Digest username=\"alice\"", alice, "Bearer\t\(alice)",
        "Bearer:\(alice)", "Bearerx \(alice)",
    ])
    func anythingButABearerHeaderIsMissingWithTheBearerChallenge(header: String?) {
        var environment = ["REMOTE_USER": "alice", "HTTP_COOKIE": "zw_session=\(Self.alice)"]
        environment["HTTP_AUTHORIZATION"] = header
        let outcome = authenticate(environment)
        #expect(outcome == .missing(.authenticationRequired))
        guard case .missing(let error) = outcome else { return }
        #expect(error.status.code == 401)
        #expect(error.code == "authentication_required")
        #expect(error.headers == [HTTPHeader("WWW-Authenticate", #"Bearer realm="zeroweight-proxy""#)])
    }

    // MARK: The cookie

    @Test func theCookieIsReadOnlyWhenConfigured() {
        #expect(authenticate(["HTTP_COOKIE": "zw_session=\(Self.alice)"]) == .missing(.authenticationRequired))
        #expect(
            authenticate(["HTTP_COOKIE": "zw_session=\(Self.alice)"], Self.withCookie)
                == .authenticated(Self.aliceCaller))
    }

    @Test(arguments: [
        "zw_session=TOKEN", "theme=dark; zw_session=TOKEN", "theme=dark;zw_session=TOKEN; lang=en",
        "  zw_session=TOKEN  ", "xzw_session=other; zw_session=TOKEN",
    ])
    func theConfiguredCookieCarriesTheToken(cookie: String) {
        let environment = ["HTTP_COOKIE": cookie.replacingOccurrences(of: "TOKEN", with: Self.alice)]
        #expect(authenticate(environment, Self.withCookie) == .authenticated(Self.aliceCaller))
    }

    @Test(arguments: [
        "xzw_session=TOKEN", "zw_session_x=TOKEN", "ZW_SESSION=TOKEN", "zw_sessio=TOKEN", "zw_session =TOKEN",
        "zw_session=", "zw_session", "theme=dark", "",
    ])
    func onlyTheExactCookieNameCounts(cookie: String) {
        let environment = ["HTTP_COOKIE": cookie.replacingOccurrences(of: "TOKEN", with: Self.alice)]
        #expect(authenticate(environment, Self.withCookie) == .missing(.authenticationRequired))
    }

    @Test func theHeaderWinsOverTheCookie() {
        let environment = ["HTTP_AUTHORIZATION": "Bearer \(Self.alice)", "HTTP_COOKIE": "zw_session=\(Self.bob)"]
        #expect(authenticate(environment, Self.withCookie) == .authenticated(Self.aliceCaller))
    }

    @Test func aBadHeaderTokenIsNotRescuedByAGoodCookie() {
        let environment = ["HTTP_AUTHORIZATION": "Bearer not-a-jwt", "HTTP_COOKIE": "zw_session=\(Self.bob)"]
        #expect(
            authenticate(environment, Self.withCookie) == .invalid(.invalidToken, reason: "malformed_token"))
    }

    @Test func aNonBearerHeaderFallsBackToTheCookie() {
        let environment = ["HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0", "HTTP_COOKIE": "zw_session=\(Self.bob)"]
        #expect(authenticate(environment, Self.withCookie) == .authenticated(Self.bobCaller))
    }

    // MARK: Verification

    static let otherSecret = (0..<32).map { UInt8(255 - $0) }
    static let refusedTokens: [(String, JWTError)] = [
        ("not-a-jwt", .malformed),
        ("a.b.c", .malformed),
        (token(#""sub":"alice""#, key: otherSecret), .badSignature),
        (
            TestSigner.hmacToken(
                header: header, claims: #"{"sub":"alice","exp":\#(time - 120)}"#, key: secret), .expired
        ),
        (TestSigner.hmacToken(header: header, claims: #"{"sub":"alice"}"#, key: secret), .missingExpiry),
        (
            TestSigner.hmacToken(
                header: #"{"alg":"none"}"#, claims: #"{"sub":"alice","exp":\#(time + 300)}"#, key: secret),
            .algorithmNotAllowed
        ),
        (
            TestSigner.rsa.token(header: #"{"alg":"RS256"}"#, claims: #"{"sub":"alice","exp":\#(time + 300)}"#),
            .algorithmNotAllowed
        ),
    ]

    @Test(arguments: refusedTokens)
    func aTokenThatFailsVerificationIsInvalidWithTheVerifiersCode(token: String, error: JWTError) {
        let outcome = authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"])
        #expect(outcome == .invalid(.invalidToken, reason: error.code))
        #expect(outcome.logValue == "invalid")
        let fromCookie = authenticate(["HTTP_COOKIE": "zw_session=\(token)"], Self.withCookie)
        #expect(fromCookie == .invalid(.invalidToken, reason: error.code))
    }

    @Test func theReasonIsTheStableJWTErrorCode() {
        let outcomes = Self.refusedTokens.map { authenticate(["HTTP_AUTHORIZATION": "Bearer \($0.0)"]) }
        #expect(
            outcomes
                == [
                    "malformed_token", "malformed_token", "bad_signature", "token_expired", "missing_expiry",
                    "algorithm_not_allowed", "algorithm_not_allowed",
                ].map { .invalid(.invalidToken, reason: $0) })
    }

    @Test func aTokenOverTheVerifiersSizeLimitIsInvalid() {
        let token = Self.token(#""sub":"alice","pad":"\#(String(repeating: "p", count: 8192))""#)
        #expect(
            authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"])
                == .invalid(.invalidToken, reason: "token_too_large"))
    }

    @Test func anInvalidTokenIs401WithTheInvalidTokenChallenge() {
        #expect(ProxyError.invalidToken.status.code == 401)
        #expect(ProxyError.invalidToken.code == "invalid_token")
        #expect(
            ProxyError.invalidToken.headers == [
                HTTPHeader("WWW-Authenticate", #"Bearer realm="zeroweight-proxy", error="invalid_token""#)
            ])
    }

    // MARK: Claims

    @Test(arguments: [
        #""name":"Alice""#, #""sub":"""#, #""sub":42"#, #""sub":null"#, #""sub":true"#, #""sub":{"id":"alice"}"#,
        #""sub":["alice"]"#, #""sub":"ali\nce""#, #""sub":"\u202Ealice""#, #""sub":"a\u0000""#,
        #""sub":"\#(String(repeating: "a", count: 257))""#,
    ])
    func aTokenWithoutAUsableSubjectIsInvalid(members: String) {
        let outcome = authenticate(["HTTP_AUTHORIZATION": "Bearer \(Self.token(members))"])
        #expect(outcome == .invalid(.invalidToken, reason: "missing_subject"))
    }

    @Test func theSubjectClaimCanBeAnotherOrANestedClaim() {
        let token = Self.token(#""sub":"user-1","email":"alice@example.com","user":{"id":"u-7"}"#)
        let environment = ["HTTP_AUTHORIZATION": "Bearer \(token)"]
        #expect(
            authenticate(environment, JWTAuthentication(verifier: Self.verifier, subjectClaim: "email"))
                == .authenticated(Caller(subject: "alice@example.com", tenant: nil, boundName: "alice@example.com")))
        #expect(
            authenticate(environment, JWTAuthentication(verifier: Self.verifier, subjectClaim: "user.id"))
                == .authenticated(Caller(subject: "u-7", tenant: nil, boundName: "u-7")))
        #expect(
            authenticate(environment, JWTAuthentication(verifier: Self.verifier, subjectClaim: "upn"))
                == .invalid(.invalidToken, reason: "missing_subject"))
    }

    @Test(
        arguments: [
            (#""org":{"id":"acme"}"#, "acme"),
            (#""org.id":"flat","org":{"id":"nested"}"#, "flat"),
            (#""org":{"id":""}"#, nil),
            (#""org":{"id":7}"#, nil),
            (#""org":"acme""#, nil),
            ("", nil),
        ] as [(String, String?)])
    func theTenantComesFromADottedClaim(members: String, tenant: String?) {
        let token = Self.token(#""sub":"alice""# + (members.isEmpty ? "" : "," + members))
        let jwt = JWTAuthentication(verifier: Self.verifier, tenantClaim: "org.id")
        #expect(
            authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"], jwt)
                == .authenticated(Caller(subject: "alice", tenant: tenant, boundName: "alice")))
    }

    @Test func withoutATenantClaimNoTenantIsRead() {
        let token = Self.token(#""sub":"alice","tenant":"acme""#)
        #expect(authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"]) == .authenticated(Self.aliceCaller))
    }

    @Test(arguments: [
        #""ac\u0001me""#, #""acme\n""#, #""ac\rme""#, #""\u202Eacme""#, #""a\u200Bcme""#, #""a\u2028b""#,
        #""\#(String(repeating: "t", count: 257))""#,
    ])
    func aTenantThatIsNotAUsableIdentityIsInvalid(tenant: String) {
        let token = Self.token(#""sub":"alice","org":{"id":\#(tenant)}"#)
        let jwt = JWTAuthentication(verifier: Self.verifier, tenantClaim: "org.id")
        let outcome = authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"], jwt)
        #expect(outcome == .invalid(.invalidToken, reason: "bad_tenant"))
        #expect(outcome.logValue == "invalid")
    }

    @Test func theSubjectIsCheckedBeforeTheTenant() {
        let token = Self.token(#""org":{"id":"ac\u0001me"}"#)
        let jwt = JWTAuthentication(verifier: Self.verifier, tenantClaim: "org.id")
        #expect(
            authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"], jwt)
                == .invalid(.invalidToken, reason: "missing_subject"))
    }

    @Test(
        arguments: [
            ("preferred_username", #""preferred_username":"Alice Liddell""#, "Alice Liddell"),
            ("profile.name", #""profile":{"name":"Alice L."}"#, "Alice L."),
            ("preferred_username", #""name":"Alice""#, nil),
            ("preferred_username", #""preferred_username":42"#, nil),
        ] as [(String, String, String?)])
    func theNameClaimSetsTheBoundName(claim: String, members: String, boundName: String?) {
        let token = Self.token(#""sub":"user-1","# + members)
        let jwt = JWTAuthentication(verifier: Self.verifier, nameClaim: claim)
        #expect(
            authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"], jwt)
                == .authenticated(Caller(subject: "user-1", tenant: nil, boundName: boundName)))
    }

    @Test func withoutANameClaimTheSubjectIsTheBoundName() {
        let token = Self.token(#""sub":"user-1","preferred_username":"Alice""#)
        #expect(
            authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"])
                == .authenticated(Caller(subject: "user-1", tenant: nil, boundName: "user-1")))
    }

    @Test func everyClaimTogether() {
        let token = Self.token(#""sub":"user-1","org":{"id":"acme"},"preferred_username":"Alice""#)
        let jwt = JWTAuthentication(
            verifier: Self.verifier, cookie: "zw_session", tenantClaim: "org.id", nameClaim: "preferred_username")
        #expect(
            authenticate(["HTTP_COOKIE": "zw_session=\(token)"], jwt)
                == .authenticated(Caller(subject: "user-1", tenant: "acme", boundName: "Alice")))
    }

    // MARK: The log

    @Test func theOutcomeNamesItselfInTheLog() {
        #expect(authenticate(["HTTP_AUTHORIZATION": "Bearer \(Self.alice)"]).logValue == "ok")
        #expect(authenticate([:]).logValue == "missing")
        #expect(authenticate(["HTTP_AUTHORIZATION": "Bearer x.y.z"]).logValue == "invalid")
        #expect(Authenticator.Outcome.anonymous(.anonymous).logValue == "none")
        #expect(AuthMode.jwt(JWTAuthentication(verifier: Self.verifier)).name == "jwt")
    }

    @Test func theDefaultsReadTheSubOfABearerHeader() {
        let jwt = JWTAuthentication(verifier: Self.verifier)
        #expect(jwt.cookie == nil)
        #expect(jwt.subjectClaim == "sub")
        #expect(jwt.tenantClaim == nil)
        #expect(jwt.nameClaim == nil)
    }
}
