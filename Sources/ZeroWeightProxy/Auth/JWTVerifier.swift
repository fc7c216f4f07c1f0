import Foundation

/// Verifies compact JWS tokens (JWTs) against configured keys, following RFC 8725.
///
/// The verifier, not the token, decides how a token may be signed: `alg` must be in the
/// allowlist (`none` never is), and the chosen key must be bound to that same algorithm. An RSA,
/// EC or Ed25519 key is only ever a public key for its one algorithm, and the HMAC secret is only
/// for HS256, so an HS256 token "signed" with a public key (the RS256 -> HS256 confusion) is
/// refused. `jku`, `x5u`, `jwk` and `x5c` in a header are ignored, never fetched or trusted.
///
/// Checks run in this order and stop at the first failure: size; three base64url parts; header
/// JSON (`alg`, `typ`, `crit`, `kid`); key choice; signature; claims JSON; `exp`, `nbf`, `iss`,
/// `aud`. The claims are not looked at until the signature has verified.
public struct JWTVerifier: Sendable, CustomStringConvertible, CustomReflectable {
    /// What the verifier accepts.
    ///
    /// The HMAC secret is never printed: `description`, `debugDescription` and reflection leave it out.
    public struct Configuration: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// The shortest HMAC secret accepted, in bytes (RFC 7518 section 3.2: at least the hash size).
        public static let minimumSecretBytes = 32

        /// The algorithms a token may use; never empty.
        public let algorithms: Set<JWTAlgorithm>
        /// The public keys for RS256, ES256 and EdDSA.
        public let keySet: JSONWebKeySet?
        /// The HS256 secret; it has no `kid`. Not public, so it is only ever used, never read back.
        let hmacSecret: [UInt8]?
        /// The required `iss`, compared exactly; nil skips the check.
        public let issuer: String?
        /// The audience that `aud` must contain; nil skips the check.
        public let audience: String?
        /// Seconds of clock skew allowed on `exp` and `nbf`.
        public let leeway: Double
        /// Longer tokens are refused before any decoding.
        public let maximumTokenBytes: Int

        /// A configuration, checked for settings that could never verify a token safely.
        ///
        /// - Parameters:
        ///   - algorithms: The allowed algorithms; must not be empty.
        ///   - keySet: The public keys; required when RS256, ES256 or EdDSA is allowed.
        ///   - hmacSecret: The HS256 secret, at least `minimumSecretBytes` long; required exactly
        ///     when HS256 is allowed.
        ///   - issuer: The required `iss`, if any.
        ///   - audience: The audience `aud` must contain, if any.
        ///   - leeway: Clock skew in seconds, finite and from 0 to 600.
        ///   - maximumTokenBytes: The largest token accepted, at least 64 bytes.
        /// - Throws: `ConfigurationError` naming the parameter at fault; never the secret.
        public init(
            algorithms: Set<JWTAlgorithm>, keySet: JSONWebKeySet? = nil, hmacSecret: [UInt8]? = nil,
            issuer: String? = nil, audience: String? = nil, leeway: Double = 60, maximumTokenBytes: Int = 8192
        ) throws(ConfigurationError) {
            guard !algorithms.isEmpty else {
                throw ConfigurationError(setting: "JWT algorithms", problem: "must name at least one algorithm")
            }
            if algorithms.contains(.hs256) {
                guard let hmacSecret else {
                    throw ConfigurationError(setting: "JWT HMAC secret", problem: "is required when HS256 is allowed")
                }
                guard hmacSecret.count >= Self.minimumSecretBytes else {
                    throw ConfigurationError(
                        setting: "JWT HMAC secret",
                        problem: "is shorter than \(Self.minimumSecretBytes) bytes; use random bytes, not a password")
                }
            } else if hmacSecret != nil {
                throw ConfigurationError(setting: "JWT HMAC secret", problem: "is set but HS256 is not allowed")
            }
            if keySet == nil, !algorithms.isSubset(of: [.hs256]) {
                throw ConfigurationError(
                    setting: "JWT key set", problem: "is required when RS256, ES256 or EdDSA is allowed")
            }
            guard leeway.isFinite, leeway >= 0, leeway <= 600 else {
                throw ConfigurationError(setting: "JWT leeway", problem: "must be from 0 to 600 seconds")
            }
            guard maximumTokenBytes >= 64 else {
                throw ConfigurationError(setting: "JWT maximum token size", problem: "must be at least 64 bytes")
            }
            self.algorithms = algorithms
            self.keySet = keySet
            self.hmacSecret = hmacSecret
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.maximumTokenBytes = maximumTokenBytes
        }

        /// Whether an HS256 secret is configured.
        public var hasHMACSecret: Bool { hmacSecret != nil }

        public var description: String {
            let names = algorithms.map(\.rawValue).sorted().joined(separator: ", ")
            return "algorithms: [\(names)], keys: \(keySet?.keys.count ?? 0), hmacSecret: "
                + (hasHMACSecret ? "<redacted>" : "none")
                + ", issuer: \(issuer ?? "any"), audience: \(audience ?? "any"), "
                + "leeway: \(leeway), maximumTokenBytes: \(maximumTokenBytes)"
        }

        public var debugDescription: String { description }

        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "algorithms": algorithms, "keys": keySet?.keys.count ?? 0, "hasHMACSecret": hasHMACSecret,
                    "issuer": issuer as Any, "audience": audience as Any, "leeway": leeway,
                    "maximumTokenBytes": maximumTokenBytes,
                ])
        }
    }

    /// A key as the verifier uses it: public key or HMAC secret, with its `kid` and one algorithm.
    private struct VerificationKey: Sendable {
        enum Material: Sendable {
            case publicKey(LibCrypto.PublicKey)
            case secret([UInt8])
        }

        let keyID: String?
        let algorithm: JWTAlgorithm
        let material: Material

        func verifies(signature: [UInt8], of message: [UInt8]) -> Bool {
            switch (algorithm, material) {
            case (.hs256, .secret(let secret)):
                guard let mac = LibCrypto.hmacSHA256(key: secret, message: message) else { return false }
                return LibCrypto.constantTimeEquals(mac, signature)
            case (.rs256, .publicKey(let key)):
                return LibCrypto.verifyRS256(signature: signature, message: message, key: key)
            case (.es256, .publicKey(let key)):
                return LibCrypto.verifyES256(signature: signature, message: message, key: key)
            case (.edDSA, .publicKey(let key)):
                return LibCrypto.verifyEd25519(signature: signature, message: message, key: key)
            default:
                return false
            }
        }
    }

    public let configuration: Configuration
    private let keys: [VerificationKey]

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var keys =
            configuration.keySet?.keys.map {
                VerificationKey(keyID: $0.keyID, algorithm: $0.algorithm, material: .publicKey($0.publicKey))
            } ?? []
        if let secret = configuration.hmacSecret {
            keys.append(VerificationKey(keyID: nil, algorithm: .hs256, material: .secret(secret)))
        }
        self.keys = keys
    }

    public var description: String { "JWTVerifier(\(configuration))" }

    /// Only the configuration, which redacts the secret; never the keys.
    public var customMirror: Mirror { Mirror(self, children: ["configuration": configuration]) }

    /// Verifies `token` and returns its claims.
    ///
    /// - Parameters:
    ///   - token: The compact JWS, without any `Bearer ` prefix.
    ///   - now: The current time, against which `exp` and `nbf` are checked.
    /// - Returns: The claims of a token that passed every check.
    /// - Throws: `JWTError` for the first check that failed.
    public func verify(_ token: String, now: Date) throws(JWTError) -> JWTClaims {
        guard token.utf8.count <= configuration.maximumTokenBytes else { throw .tooLarge }
        let bytes = Array(token.utf8)
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed }

        guard let headerBytes = Base64URL.decode(bytes: parts[0]),
            let header = JSONValue(parsing: headerBytes)?.objectValue,
            let algorithmName = header["alg"]?.stringValue
        else { throw .malformed }
        guard let algorithm = JWTAlgorithm(joseName: algorithmName), configuration.algorithms.contains(algorithm) else {
            throw .algorithmNotAllowed
        }
        if let type = header["typ"] {
            guard let name = type.stringValue, Array(name.utf8).map(Self.lowercased) == Array("jwt".utf8) else {
                throw .malformed
            }
        }
        guard header["crit"] == nil else { throw .malformed }
        let keyID: String?
        if let value = header["kid"] {
            guard let name = value.stringValue else { throw .malformed }
            keyID = name
        } else {
            keyID = nil
        }
        guard let signature = Base64URL.decode(bytes: parts[2]) else { throw .malformed }

        let candidates = try self.candidates(keyID: keyID, algorithm: algorithm)
        let signingInput = Array(bytes[..<parts[1].endIndex])
        guard candidates.contains(where: { $0.verifies(signature: signature, of: signingInput) }) else {
            throw .badSignature
        }

        guard let payload = Base64URL.decode(bytes: parts[1]), let claims = JSONValue(parsing: payload)?.objectValue
        else { throw .malformed }
        try check(claims, now: now)
        return JWTClaims(claims)
    }

    /// The keys to try: the one named by `kid`, else every key bound to `algorithm`.
    private func candidates(keyID: String?, algorithm: JWTAlgorithm) throws(JWTError) -> [VerificationKey] {
        let chosen: [VerificationKey]
        if let keyID {
            chosen = keys.filter { key in
                key.keyID.map { $0.utf8.elementsEqual(keyID.utf8) } ?? false
            }
        } else {
            chosen = keys
        }
        let bound = chosen.filter { $0.algorithm == algorithm }
        guard !bound.isEmpty else { throw .unknownKey }
        return bound
    }

    /// `exp` (required), `nbf`, `iss` and `aud`, in that order.
    private func check(_ claims: [String: JSONValue], now: Date) throws(JWTError) {
        let time = now.timeIntervalSince1970
        guard let expiry = claims["exp"] else { throw .missingExpiry }
        guard let expiresAt = expiry.numberValue else { throw .malformed }
        guard time < expiresAt + configuration.leeway else { throw .expired }
        if let notBefore = claims["nbf"] {
            guard let startsAt = notBefore.numberValue else { throw .malformed }
            guard time >= startsAt - configuration.leeway else { throw .notYetValid }
        }
        if let issuer = configuration.issuer {
            guard let claimed = claims["iss"]?.stringValue, claimed.utf8.elementsEqual(issuer.utf8) else {
                throw .wrongIssuer
            }
        }
        if let audience = configuration.audience {
            let audiences: [JSONValue]
            switch claims["aud"] {
            case .string(let single)?: audiences = [.string(single)]
            case .array(let list)?: audiences = list
            default: throw .wrongAudience
            }
            guard audiences.contains(where: { $0.stringValue?.utf8.elementsEqual(audience.utf8) ?? false }) else {
                throw .wrongAudience
            }
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
