import Foundation
import Testing

@testable import ZeroWeightProxy

/// The `jwt.*` settings as `ProxySettings.load` reads them, with key files from an injected reader.
@Suite struct JWTSettingsTests {
    static let time = 1_750_000_000
    static let now = Date(timeIntervalSince1970: TimeInterval(time))
    static let jwksPath = "/run/zw/jwks.json"
    static let secretPath = "/run/zw/jwt-secret"
    static let configPath = ProxyConfiguration.defaultConfigPath
    /// 32 printable bytes, so that a message quoting any of them would show.
    static let secret = Array("q7Rk2mZx9LwT4vNc8HsJ3dPf6GbY1eUa".utf8)
    static let shortSecret = Array("q7Rk2mZx9LwT4vNc8HsJ3dPf6GbY1eU".utf8)
    static let jwks = Data(
        (#"{"keys":[\#(TestSigner.rsa.jwk(["kid": "rsa"])),\#(TestSigner.p256.jwk(["kid": "ec"])),"#
            + #"\#(TestSigner.ed25519.jwk(["kid": "ed"]))]}"#).utf8)
    static let files = [jwksPath: jwks, secretPath: Data(secret)]

    static let base = ["ZEROWEIGHT_API_KEY": "k", "ZEROWEIGHT_PROXY_AUTH": "jwt", "ZEROWEIGHT_PROXY_AVATARS": "*"]
    static let withJWKS = ["ZEROWEIGHT_PROXY_JWT_JWKS_FILE": jwksPath]
    static let withSecret = ["ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE": secretPath]

    /// A reader failing for this path, as for a file without read permission.
    static let unreadablePath = "/run/zw/unreadable"
    struct Unreadable: Error {}
    /// Settings that loaded with another auth mode.
    struct NotJWT: Error {
        let mode: String
    }

    /// Loads `base` overridden by `environment` (an empty value removes a setting); `files` are the
    /// only files there are, the config file among them.
    private func load(
        _ environment: [String: String], files: [String: Data] = files
    ) -> Result<ProxySettings, ConfigurationError> {
        let environment = Self.base.merging(environment) { _, new in new }
        return Result { () throws(ConfigurationError) in
            try ProxySettings.load(environment: environment) { path in
                if path == Self.unreadablePath { throw Unreadable() }
                return files[path]
            }
        }
    }

    private func error(_ environment: [String: String], files: [String: Data] = files) -> ConfigurationError? {
        guard case .failure(let error) = load(environment, files: files) else { return nil }
        return error
    }

    private func loadJWT(_ environment: [String: String], files: [String: Data] = files) throws -> JWTAuthentication {
        let mode = try load(environment, files: files).get().access.authMode
        guard case .jwt(let jwt) = mode else { throw NotJWT(mode: mode.name) }
        return jwt
    }

    /// What `jwt` makes of a request carrying `token` as a bearer token.
    private func authenticate(_ token: String, with jwt: JWTAuthentication) -> Authenticator.Outcome {
        Authenticator(mode: .jwt(jwt)).authenticate(["HTTP_AUTHORIZATION": "Bearer \(token)"], now: Self.now)
    }

    static func claims(_ extra: String = "") -> String {
        #"{"sub":"user-1","exp":\#(time + 300)"# + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    static func hmacToken(_ claims: String = claims(), key: [UInt8] = secret) -> String {
        TestSigner.hmacToken(header: #"{"alg":"HS256"}"#, claims: claims, key: key)
    }

    static let user1 = Authenticator.Outcome.authenticated(Caller(subject: "user-1", tenant: nil, boundName: "user-1"))

    // MARK: Keys

    @Test func aJWKSFileAloneAllowsRS256ES256AndEdDSA() throws {
        let jwt = try loadJWT(Self.withJWKS)
        let configuration = jwt.verifier.configuration
        #expect(configuration.algorithms == [.rs256, .es256, .edDSA])
        #expect(configuration.keySet?.keys.map(\.keyID) == ["rsa", "ec", "ed"])
        #expect(!configuration.hasHMACSecret)
        #expect(configuration.issuer == nil)
        #expect(configuration.audience == nil)
        #expect(configuration.leeway == 60)
        #expect(jwt.cookie == nil)
        #expect(jwt.subjectClaim == "sub")
        #expect(jwt.tenantClaim == nil)
        #expect(jwt.nameClaim == nil)
        for (signer, algorithm) in [
            (TestSigner.rsa, "RS256"), (TestSigner.p256, "ES256"), (TestSigner.ed25519, "EdDSA"),
        ] {
            let token = signer.token(header: #"{"alg":"\#(algorithm)"}"#, claims: Self.claims())
            #expect(authenticate(token, with: jwt) == Self.user1)
        }
        #expect(
            authenticate(Self.hmacToken(), with: jwt) == .invalid(.invalidToken, reason: "algorithm_not_allowed"))
    }

    @Test func signedInCallersGetTheirSubjectAsTheNameAndNoRoom() throws {
        let access = try load(Self.withJWKS).get().access
        #expect(access.authMode.name == "jwt")
        #expect(access.tokenIdentity == TokenIdentityPolicy(name: .subject, room: .none))
    }

    @Test(arguments: ["", "\n", "\r\n", "\n\n", "\r\n\r\n"])
    func aSecretFileAloneAllowsHS256WithTrailingNewlinesTrimmed(ending: String) throws {
        let jwt = try loadJWT(Self.withSecret, files: [Self.secretPath: Data(Self.secret + Array(ending.utf8))])
        let configuration = jwt.verifier.configuration
        #expect(configuration.algorithms == [.hs256])
        #expect(configuration.hmacSecret == Self.secret)
        #expect(configuration.keySet == nil)
        #expect(authenticate(Self.hmacToken(), with: jwt) == Self.user1)
    }

    @Test func bothFilesAllowEveryAlgorithm() throws {
        let jwt = try loadJWT(Self.withJWKS.merging(Self.withSecret) { $1 })
        #expect(jwt.verifier.configuration.algorithms == Set(JWTAlgorithm.allCases))
        #expect(authenticate(Self.hmacToken(), with: jwt) == Self.user1)
        let token = TestSigner.rsa.token(header: #"{"alg":"RS256","kid":"rsa"}"#, claims: Self.claims())
        #expect(authenticate(token, with: jwt) == Self.user1)
    }

    @Test(arguments: ["", "\n", "\r\n"])
    func aSecretShorterThan32BytesIsRefusedWithoutQuotingIt(ending: String) throws {
        #expect(Self.shortSecret.count == 31)
        let files = [Self.secretPath: Data(Self.shortSecret + Array(ending.utf8))]
        for environment in [
            Self.withSecret, Self.withSecret.merging(["ZEROWEIGHT_PROXY_JWT_ALGORITHMS": "HS256"]) { $1 },
        ] {
            let refusal = try #require(error(environment, files: files))
            #expect(
                refusal
                    == ConfigurationError(
                        setting: "ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE",
                        problem: "JWT HMAC secret is shorter than 32 bytes; use random bytes, not a password"))
            let text = refusal.description
            for window in 0...(Self.shortSecret.count - 4) {
                let piece = String(decoding: Self.shortSecret[window..<window + 4], as: UTF8.self)
                #expect(!text.contains(piece))
            }
        }
    }

    @Test func withNeitherFileTheJWKSFileIsNamed() {
        #expect(
            error([:])
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_JWT_JWKS_FILE",
                    problem: "is not set (nor jwt.hmac_secret_file): auth = jwt needs keys to verify tokens with"))
        #expect(
            error(["ZEROWEIGHT_PROXY_JWT_JWKS_FILE": "", "ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE": ""])?.setting
                == "ZEROWEIGHT_PROXY_JWT_JWKS_FILE")
    }

    @Test(arguments: ["ZEROWEIGHT_PROXY_JWT_JWKS_FILE", "ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE"])
    func anUnreadableKeyFileNamesItsSetting(variable: String) {
        let both = Self.withJWKS.merging(Self.withSecret) { $1 }
        for path in ["/run/zw/missing", Self.unreadablePath] {
            #expect(
                error(both.merging([variable: path]) { $1 })
                    == ConfigurationError(setting: variable, problem: "names a file that cannot be read"))
        }
    }

    @Test func anUnreadableKeyFileInTheConfigFileNamesItsLine() {
        let config = "auth = jwt\njwt.hmac_secret_file = /run/zw/missing\n"
        let files = Self.files.merging([Self.configPath: Data(config.utf8)]) { $1 }
        #expect(
            error(["ZEROWEIGHT_PROXY_AUTH": ""], files: files)
                == ConfigurationError(
                    setting: "\(Self.configPath):2 (jwt.hmac_secret_file)", problem: "names a file that cannot be read")
        )
    }

    @Test func aShortSecretInTheConfigFileNamesItsLine() {
        let config = "auth = jwt\njwt.algorithms = HS256\njwt.hmac_secret_file = \(Self.secretPath)\n"
        let files = [Self.configPath: Data(config.utf8), Self.secretPath: Data(Self.shortSecret)]
        #expect(
            error(["ZEROWEIGHT_PROXY_AUTH": ""], files: files)
                == ConfigurationError(
                    setting: "\(Self.configPath):3 (jwt.hmac_secret_file)",
                    problem: "JWT HMAC secret is shorter than 32 bytes; use random bytes, not a password"))
    }

    @Test func aJWKSWithAPrivateKeyIsRefusedNamingTheFile() {
        let privateKey = TestSigner.rsa.jwk(["kid": "rsa", "d": "c2VjcmV0LXByaXZhdGUtcGFydA"])
        let files = [Self.jwksPath: Data(#"{"keys":[\#(TestSigner.p256.jwk()),\#(privateKey)]}"#.utf8)]
        #expect(
            error(Self.withJWKS, files: files)
                == ConfigurationError(
                    setting: "/run/zw/jwks.json keys[1]",
                    problem: "has the private key member \"d\"; a JWKS file must hold public keys only"))
    }

    // MARK: Algorithms, leeway, cookie

    @Test(arguments: [
        ("RS256", [JWTAlgorithm.rs256]), ("RS256, ES256", [.rs256, .es256]), ("EdDSA RS256", [.edDSA, .rs256]),
        ("ES256,,EdDSA", [.es256, .edDSA]),
    ])
    func algorithmsCanBeNarrowed(text: String, algorithms: [JWTAlgorithm]) throws {
        let jwt = try loadJWT(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_ALGORITHMS": text]) { $1 })
        #expect(jwt.verifier.configuration.algorithms == Set(algorithms))
    }

    @Test(arguments: ["RS256, XX256", "rs256", "none", "RS256;ES256", "HS512", "RS256 EDDSA"])
    func anUnknownAlgorithmIsRefused(text: String) {
        #expect(
            error(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_ALGORITHMS": text]) { $1 })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_JWT_ALGORITHMS", problem: "must list HS256, RS256, ES256 or EdDSA"))
    }

    @Test(arguments: [
        (withJWKS, "HS256", "JWT HMAC secret is required when HS256 is allowed"),
        (withSecret, "HS256, RS256", "JWT key set is required when RS256, ES256 or EdDSA is allowed"),
        (withJWKS, ", ", "JWT algorithms must name at least one algorithm"),
    ])
    func algorithmsWithoutTheirKeysAreRefusedNamingTheAlgorithms(keys: [String: String], text: String, problem: String)
    {
        #expect(
            error(keys.merging(["ZEROWEIGHT_PROXY_JWT_ALGORITHMS": text]) { $1 })
                == ConfigurationError(setting: "ZEROWEIGHT_PROXY_JWT_ALGORITHMS", problem: problem))
    }

    @Test func aSecretWhoseAlgorithmIsNotAllowedIsRefusedNamingTheSecret() {
        let environment = Self.withJWKS.merging(Self.withSecret) { $1 }
            .merging(["ZEROWEIGHT_PROXY_JWT_ALGORITHMS": "RS256"]) { $1 }
        #expect(
            error(environment)
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE",
                    problem: "JWT HMAC secret is set but HS256 is not allowed"))
    }

    @Test(arguments: [("0", 0.0), ("5", 5), ("120", 120), ("600", 600), ("007", 7)])
    func leewayIsWholeSeconds(text: String, leeway: Double) throws {
        let jwt = try loadJWT(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS": text]) { $1 })
        #expect(jwt.verifier.configuration.leeway == leeway)
    }

    @Test(arguments: ["1.5", "-1", "+5", "1e2", " 5", "5 ", "five", "0x10", "６0"])
    func aLeewayThatIsNotWholeSecondsIsRefused(text: String) {
        #expect(
            error(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS": text]) { $1 })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS", problem: "must be a whole number of seconds"))
    }

    @Test(arguments: ["601", "86400", "99999999999999999999999"])
    func aLeewayAboveTenMinutesIsRefusedNamingTheLeeway(text: String) {
        #expect(
            error(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS": text]) { $1 })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS",
                    problem: "JWT leeway must be from 0 to 600 seconds"))
    }

    @Test func theLeewayWidensExpiry() throws {
        let jwt = try loadJWT(Self.withSecret.merging(["ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS": "0"]) { $1 })
        let expired = Self.hmacToken(#"{"sub":"user-1","exp":\#(Self.time - 1)}"#)
        #expect(authenticate(expired, with: jwt) == .invalid(.invalidToken, reason: "token_expired"))
        let lenient = try loadJWT(Self.withSecret)
        #expect(authenticate(expired, with: lenient) == Self.user1)
    }

    @Test(arguments: [
        "a;b", "a b", "a=b", "a,b", "\"a\"", "a\u{7F}", "sé", "a\tb", String(repeating: "c", count: 65),
    ])
    func aCookieThatIsNotACookieNameIsRefused(cookie: String) {
        #expect(
            error(Self.withJWKS.merging(["ZEROWEIGHT_PROXY_JWT_COOKIE": cookie]) { $1 })
                == ConfigurationError(setting: "ZEROWEIGHT_PROXY_JWT_COOKIE", problem: "must be a cookie name"))
    }

    @Test func theCookieSettingCarriesTheToken() throws {
        let jwt = try loadJWT(Self.withSecret.merging(["ZEROWEIGHT_PROXY_JWT_COOKIE": "__Host-zw_session"]) { $1 })
        #expect(jwt.cookie == "__Host-zw_session")
        let environment = ["HTTP_COOKIE": "theme=dark; __Host-zw_session=\(Self.hmacToken())"]
        #expect(Authenticator(mode: .jwt(jwt)).authenticate(environment, now: Self.now) == Self.user1)
    }

    // MARK: Claims

    @Test func issuerAudienceAndClaimsComeFromTheirSettings() throws {
        let jwt = try loadJWT(
            Self.withSecret.merging([
                "ZEROWEIGHT_PROXY_JWT_ISSUER": "https://id.example.com", "ZEROWEIGHT_PROXY_JWT_AUDIENCE": "zw",
                "ZEROWEIGHT_PROXY_JWT_SUBJECT_CLAIM": "email", "ZEROWEIGHT_PROXY_JWT_TENANT_CLAIM": "org.id",
            ]) { $1 })
        #expect(jwt.verifier.configuration.issuer == "https://id.example.com")
        #expect(jwt.verifier.configuration.audience == "zw")
        #expect(jwt.subjectClaim == "email")
        #expect(jwt.tenantClaim == "org.id")
        let claims = Self.claims(
            #""iss":"https://id.example.com","aud":["other","zw"],"email":"a@example.com","org":{"id":"acme"}"#)
        #expect(
            authenticate(Self.hmacToken(claims), with: jwt)
                == .authenticated(Caller(subject: "a@example.com", tenant: "acme", boundName: "a@example.com")))
        #expect(
            authenticate(Self.hmacToken(Self.claims(#""aud":"zw","email":"a@example.com""#)), with: jwt)
                == .invalid(.invalidToken, reason: "wrong_issuer"))
    }

    @Test func aNameClaimBindsTheTokenRoutesName() throws {
        let settings = try load(
            Self.withSecret.merging(["ZEROWEIGHT_PROXY_TOKEN_NAME": "claim:preferred_username"]) { $1 }
        ).get()
        guard case .jwt(let jwt) = settings.access.authMode else {
            Issue.record("auth is \(settings.access.authMode.name)")
            return
        }
        #expect(jwt.nameClaim == "preferred_username")
        let identity = settings.access.tokenIdentity
        #expect(identity == TokenIdentityPolicy(name: .claim("preferred_username"), room: .none))

        let outcome = authenticate(Self.hmacToken(Self.claims(#""preferred_username":"Alice Liddell""#)), with: jwt)
        let alice = Caller(subject: "user-1", tenant: nil, boundName: "Alice Liddell")
        #expect(outcome == .authenticated(alice))
        let bound = try identity.bind(name: nil, room: nil, caller: alice)
        #expect(bound.name == DisplayName("Alice Liddell"))
        #expect(bound.room == nil)
        #expect(throws: ProxyError.nameNotAllowed) {
            try identity.bind(name: DisplayName("user-1"), room: nil, caller: alice)
        }

        let nameless = authenticate(Self.hmacToken(), with: jwt)
        #expect(nameless == .authenticated(Caller(subject: "user-1", tenant: nil, boundName: nil)))
        #expect(throws: ProxyError.identityNotUsable) {
            try identity.bind(name: nil, room: nil, caller: Caller(subject: "user-1", tenant: nil, boundName: nil))
        }
    }

    @Test(arguments: [
        ["ZEROWEIGHT_PROXY_AUTH": "remote-user", "ZEROWEIGHT_PROXY_TOKEN_NAME": "claim:preferred_username"],
        ["ZEROWEIGHT_PROXY_AUTH": "none", "ZEROWEIGHT_PROXY_TOKEN_NAME": "claim:preferred_username"],
        ["ZEROWEIGHT_PROXY_TOKEN_NAME": "claim:"],
    ])
    func aNameClaimNeedsJWTAndAName(environment: [String: String]) {
        #expect(
            error(Self.withSecret.merging(environment) { $1 })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_TOKEN_NAME", problem: "claim:<name> needs auth = jwt and a claim name"))
    }
}
