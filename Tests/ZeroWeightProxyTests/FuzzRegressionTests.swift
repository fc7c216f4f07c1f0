import CFastCGI
import Foundation
import Testing

@testable import ZeroWeightProxy

/// Replays every file in `Fuzz/regressions/<target>/` through the code path of
/// `Fuzz/Targets/<target>.swift`, decoding the bytes the same way, and pins the exact outcome.
///
/// The files are inputs the fuzzers found (minimized) and hostile inputs written by hand; the fuzz runs
/// use them as seeds too. Every file needs an entry in its target's table below.
@Suite struct FuzzRegressionTests {
    static let regressions = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Fuzz/regressions")
    static let corpus = regressions.deletingLastPathComponent().appending(path: "corpus")

    static func input(_ target: String, _ name: String) throws -> [UInt8] {
        try Array(Data(contentsOf: regressions.appending(path: "\(target)/\(name)")))
    }

    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// NUL-separated `KEY=VALUE` entries, as the CGIRequest and FastCGIParams targets read them.
    static func environment(_ bytes: [UInt8]) -> [String: String] {
        var environment: [String: String] = [:]
        for entry in bytes.split(separator: 0, omittingEmptySubsequences: false) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment[text(entry[..<equals])] = text(entry[(equals + 1)...])
        }
        return environment
    }

    @Test func everyRegressionFileHasAnExpectation() throws {
        let tables: [String: [String]] = [
            "QueryString": Array(Self.queryStringOutcomes.keys), "CGIRequest": Array(Self.cgiRequestOutcomes.keys),
            "FastCGIParams": Array(Self.fastCGIParamsOutcomes.keys),
            "ClientAddress": Array(Self.clientAddressOutcomes.keys),
            "JSONBody": Array(Self.jsonBodyOutcomes.keys), "JWTVerifier": Array(Self.jwtVerifierOutcomes.keys),
            "JSONWebKeySet": Array(Self.jsonWebKeySetOutcomes.keys), "ConfigFile": Array(Self.configFileOutcomes.keys),
        ]
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)
        #expect(Set(targets) == Set(tables.keys))
        for target in targets {
            let files = try FileManager.default.contentsOfDirectory(
                atPath: Self.regressions.appending(path: target).path)
            #expect(Set(files) == Set(tables[target] ?? []), "Fuzz/regressions/\(target)")
        }
    }

    // MARK: QueryString

    static let queryStringOutcomes: [String: Result<[String: String], ProxyError>] = [
        "percent-at-end": .failure(.malformedQuery),
        "overlong-nul": .failure(.malformedQuery),
        "utf8-surrogate": .failure(.malformedQuery),
        "encoded-separators": .success(["name": "Alice&avatar_id=other", "avatar_id": "a"]),
        "duplicate-via-escape": .failure(.duplicateParameter),
        "one-byte-too-long": .failure(.queryTooLong),
        "plus-and-escapes": .success(["name": "+ + "]),
        "unknown-after-valid": .failure(.unknownParameter),
    ]

    @Test(arguments: FuzzRegressionTests.queryStringOutcomes.keys.sorted())
    func queryString(_ name: String) throws {
        let query = Self.text(try Self.input("QueryString", name))
        let allowed: Set<String> = ["avatar_id", "name", "room"]
        let parsed = Result { () throws(ProxyError) in
            let parameters = try QueryParameters(parsing: query, allowed: allowed)
            return allowed.reduce(into: [String: String]()) { $0[$1] = parameters[$1] }
        }
        #expect(parsed == Self.queryStringOutcomes[name])
    }

    // MARK: CGIRequest

    static func avatar(_ id: String) -> AvatarID { AvatarID(id)! }

    /// The outcome for the bundle route, then for the token route.
    static let cgiRequestOutcomes: [String: [Result<RouteRequest, ProxyError>]] = [
        // Found by the fuzzer: "/" and U+0301 are one Character, so dropping it left "m" as the id.
        "combining-mark-after-slash": [.failure(.invalidAvatarID), .failure(.invalidPath)],
        "bidi-override-name": [.failure(.unknownParameter), .failure(.invalidName)],
        "zero-width-name": [.failure(.unknownParameter), .failure(.invalidName)],
        "two-segments": [.failure(.invalidPath), .failure(.invalidPath)],
        "lowercase-method": [.failure(.methodNotAllowed), .failure(.methodNotAllowed)],
        "no-method": [.failure(.missingMethod), .failure(.missingMethod)],
        "zero-padded-length": [.success(.bundle(avatarID: avatar("a-1"))), .failure(.invalidPath)],
        "later-entry-wins": [
            .failure(.unknownParameter), .success(.token(avatarID: avatar("x"), name: nil, room: RoomName("r"))),
        ],
    ]

    @Test(arguments: FuzzRegressionTests.cgiRequestOutcomes.keys.sorted())
    func cgiRequest(_ name: String) throws {
        let request = CGIRequest(environment: Self.environment(try Self.input("CGIRequest", name)))
        let outcomes = Route.allCases.map { route in
            Result { () throws(ProxyError) in try route.parse(request) }
        }
        #expect(outcomes == Self.cgiRequestOutcomes[name])
    }

    // MARK: FastCGIParams

    static let fastCGIParamsOutcomes: [String: [String: String]] = [
        // Found by the fuzzer: a Character search does not see the `=` that U+0656 combines with.
        "combining-mark-after-equals": ["": "\u{0656}"],
        "invalid-utf8": ["\u{FFFD}": "\u{FFFD}", "": "x"],
        "repeated-name": ["A": "2", "B": "="],
    ]

    @Test(arguments: FuzzRegressionTests.fastCGIParamsOutcomes.keys.sorted())
    func fastCGIParams(_ name: String) throws {
        var strings: [UnsafeMutablePointer<CChar>?] = try Self.input("FastCGIParams", name)
            .split(separator: 0, omittingEmptySubsequences: false).map { entry in
                let string = UnsafeMutablePointer<CChar>.allocate(capacity: entry.count + 1)
                for (offset, byte) in entry.enumerated() { string[offset] = CChar(bitPattern: byte) }
                string[entry.count] = 0
                return string
            }
        strings.append(nil)
        defer { for string in strings { string?.deallocate() } }
        let params = strings.withUnsafeMutableBufferPointer { envp in
            var request = FCGX_Request()
            request.envp = envp.baseAddress
            return withUnsafeMutablePointer(to: &request) { Syscalls.fastCGIParams($0) }
        }
        #expect(params == Self.fastCGIParamsOutcomes[name])
    }

    // MARK: ClientAddress

    struct ClientOutcome: Sendable, Hashable {
        /// The trusted ranges as printed, or the entry that refused the list.
        var ranges: [String] = []
        var refused: String?
        var client: String
    }

    static let clientAddressOutcomes: [String: ClientOutcome] = [
        // Found by the fuzzer: inet_pton stopped at the NUL and "::\0" passed as "::".
        "nul-in-address": ClientOutcome(refused: "::\0", client: ""),
        "spoofed-leftmost": ClientOutcome(ranges: ["10.0.0.0/8"], client: "203.0.113.5"),
        "untrusted-peer": ClientOutcome(ranges: ["10.0.0.0/8"], client: "198.51.100.7"),
        "garbage-hop": ClientOutcome(ranges: ["10.0.0.0/8"], client: "10.0.0.2"),
        "negative-prefix": ClientOutcome(refused: "0.0.0.0/-0", client: "1.2.3.4"),
        "mapped-peer": ClientOutcome(ranges: ["10.0.0.0/8"], client: "198.51.100.9"),
        "leading-zero-octet": ClientOutcome(refused: "010.0.0.1", client: "010.0.0.1"),
    ]

    @Test(arguments: FuzzRegressionTests.clientAddressOutcomes.keys.sorted())
    func clientAddress(_ name: String) throws {
        let lines = try Self.input("ClientAddress", name)
            .split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false).map { Self.text($0) }
        var outcome = ClientOutcome(client: "")
        var trusted: [AddressRange] = []
        switch AddressRange.parseList(lines[0]) {
        case .success(let ranges): trusted = ranges
        case .failure(let bad): outcome.refused = bad.text
        }
        outcome.ranges = trusted.map(\.description)
        outcome.client = ClientAddressResolver(trustedProxies: trusted).clientAddress(
            remoteAddress: lines.count > 1 ? lines[1] : "", forwardedFor: lines.count > 2 ? lines[2] : nil)
        #expect(outcome == Self.clientAddressOutcomes[name])
    }

    @Test func anAddressWithANulIsRefused() {
        #expect(IPAddress("::\0") == nil)
        #expect(IPAddress("127.0.0.1\0.evil") == nil)
        #expect(IPAddress("[::1\0]") == nil)
    }

    // MARK: JSONBody

    /// What the upstream body validator says, and whether the strict JSONValue parser reads it too.
    struct JSONOutcome: Sendable, Hashable {
        var validator: JSONValidator.TopLevel?
        var strict: Bool
    }

    static let jsonBodyOutcomes: [String: JSONOutcome] = [
        // Foundation's JSONSerialization on Linux reads this one; a browser's JSON.parse does not.
        "trailing-comma": JSONOutcome(validator: nil, strict: false),
        "lone-surrogate-escape": JSONOutcome(validator: .array, strict: false),
        "duplicate-key": JSONOutcome(validator: .object, strict: false),
        "depth-64": JSONOutcome(validator: .array, strict: true),
        "depth-65": JSONOutcome(validator: nil, strict: false),
        "utf8-surrogate": JSONOutcome(validator: nil, strict: false),
        "huge-number": JSONOutcome(validator: .scalar, strict: false),
        "byte-order-mark": JSONOutcome(validator: nil, strict: false),
    ]

    @Test(arguments: FuzzRegressionTests.jsonBodyOutcomes.keys.sorted())
    func jsonBody(_ name: String) throws {
        let bytes = try Self.input("JSONBody", name)
        let validator = JSONValidator()
        let outcome = JSONOutcome(
            validator: validator.validate(bytes),
            strict: JSONValue(parsing: bytes, maximumDepth: validator.maximumDepth) != nil)
        #expect(outcome == Self.jsonBodyOutcomes[name])
    }

    // MARK: JWTVerifier

    /// The error against keys nobody has, then the outcome (the `sub`) with the target's known HS256 secret.
    static let jwtVerifierOutcomes: [String: (JWTError, Result<String?, JWTError>)] = [
        "alg-none": (.algorithmNotAllowed, .failure(.algorithmNotAllowed)),
        "hs256-with-rsa-kid": (.unknownKey, .failure(.unknownKey)),
        "rs256-signed-with-hmac": (.badSignature, .failure(.badSignature)),
        "duplicate-alg": (.malformed, .failure(.malformed)),
        "crit-header": (.malformed, .failure(.malformed)),
        "expired": (.badSignature, .failure(.expired)),
        "valid": (.badSignature, .success("user-1")),
        "padded-base64": (.malformed, .failure(.malformed)),
    ]

    @Test(arguments: FuzzRegressionTests.jwtVerifierOutcomes.keys.sorted())
    func jwtVerifier(_ name: String) throws {
        // The same keys as Fuzz/Targets/JWTVerifier.swift.
        let keySet = try JSONWebKeySet(
            parsing: Array(Data(contentsOf: Self.corpus.appending(path: "JSONWebKeySet/three-keys"))),
            path: "three-keys")
        let knownSecret = Array("zeroweight-proxy fuzz HS256 key!".utf8)
        let otherSecret = [UInt8](repeating: 0x5A, count: 32)
        let algorithms = Set(JWTAlgorithm.allCases)
        let unknowable = JWTVerifier(try .init(algorithms: algorithms, keySet: keySet, hmacSecret: otherSecret))
        let known = JWTVerifier(
            try .init(
                algorithms: algorithms, keySet: keySet, hmacSecret: knownSecret, issuer: "https://issuer.example",
                audience: "zeroweight"))
        let now = Date(timeIntervalSince1970: 1_700_000_000)

        let bytes = try Self.input("JWTVerifier", name)
        var token = Self.text(bytes)
        if let separator = bytes.firstIndex(of: 0) {
            let signingInput = Base64URL.encode(bytes[..<separator]) + "." + Base64URL.encode(bytes[(separator + 1)...])
            let signature = try #require(LibCrypto.hmacSHA256(key: knownSecret, message: Array(signingInput.utf8)))
            token = signingInput + "." + Base64URL.encode(signature)
        }
        let expected = try #require(Self.jwtVerifierOutcomes[name])
        #expect(throws: expected.0) { try unknowable.verify(token, now: now) }
        #expect(Result { () throws(JWTError) in try known.verify(token, now: now).subject } == expected.1)
    }

    // MARK: JSONWebKeySet

    static let jwksPath = "/etc/zeroweight-proxy/jwks.json"

    static func jwksError(_ setting: String, _ problem: String) -> Result<[String?], ConfigurationError> {
        .failure(ConfigurationError(setting: jwksPath + setting, problem: problem))
    }

    static let jsonWebKeySetOutcomes: [String: Result<[String?], ConfigurationError>] = [
        "symmetric-key": jwksError(
            " keys[0]", "is a symmetric (oct) key; an HS256 secret belongs in its own secret file, not in a JWKS"),
        "private-member": jwksError(
            " keys[0]", #"has the private key member "d"; a JWKS file must hold public keys only"#),
        "duplicate-kid": jwksError(" keys[1]", "repeats the kid of an earlier key"),
        "alg-contradicts-kty": jwksError(" keys[0]", "has alg RS256, but its key type is only for EdDSA"),
        "small-rsa": jwksError(" keys[0]", "has a 1024-bit RSA modulus; 2048 to 16384 bits are accepted"),
        "only-skipped": jwksError("", "has no usable signing key (RS256, ES256 or EdDSA); 2 skipped"),
        "duplicate-member": jwksError("", "is not a JSON object (or repeats a member name)"),
    ]

    @Test(arguments: FuzzRegressionTests.jsonWebKeySetOutcomes.keys.sorted())
    func jsonWebKeySet(_ name: String) throws {
        let bytes = try Self.input("JSONWebKeySet", name)
        let parsed = Result { () throws(ConfigurationError) in
            try JSONWebKeySet(parsing: bytes, path: Self.jwksPath).keys.map(\.keyID)
        }
        #expect(parsed == Self.jsonWebKeySetOutcomes[name])
    }

    // MARK: ConfigFile

    static let configPath = "/etc/zeroweight-proxy/fuzz.conf"

    static func configError(_ line: Int, _ problem: String) -> Result<[ConfigFile.Entry], ConfigurationError> {
        .failure(ConfigurationError(setting: "\(configPath):\(line)", problem: problem))
    }

    static let configFileOutcomes: [String: Result<[ConfigFile.Entry], ConfigurationError>] = [
        "nul-in-value": configError(1, "has a control character or line break in its value"),
        "combining-after-tab": .success([.init(name: "apes", value: "\u{301}\t= k", line: 1)]),
        "bidi-in-value": .success([.init(name: "avatars", value: "a\u{202E}b", line: 1)]),
        "next-line-separator": configError(1, "has a control character or line break in its value"),
        "byte-order-mark": configError(1, "has a malformed name (use lower-case letters, digits, _ and .)"),
        "repeated-name": configError(3, "repeats log, already set on line 1"),
        "upper-case-name": configError(1, "has a malformed name (use lower-case letters, digits, _ and .)"),
    ]

    @Test(arguments: FuzzRegressionTests.configFileOutcomes.keys.sorted())
    func configFile(_ name: String) throws {
        let text = try #require(String(validating: try Self.input("ConfigFile", name), as: UTF8.self))
        let parsed = Result { () throws(ConfigurationError) in
            try ConfigFile(parsing: text, path: Self.configPath).entries
        }
        #expect(parsed == Self.configFileOutcomes[name])
    }
}
