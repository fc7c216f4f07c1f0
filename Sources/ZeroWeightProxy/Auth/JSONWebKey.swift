/// One public signing key from a JWKS document (RFC 7517), bound to exactly one algorithm.
///
/// Supported: RSA (`kty` `RSA`, moduli of 2048 to 16384 bits) for RS256, P-256 (`kty` `EC`,
/// `crv` `P-256`) for ES256, and Ed25519 (`kty` `OKP`, `crv` `Ed25519`) for EdDSA. A key is bound
/// to the algorithm its type implies; an `alg` member may only repeat it. Binding each key to one
/// algorithm is what keeps an RSA key from ever being used as an HMAC secret.
public struct JSONWebKey: Sendable {
    /// The `kid`, if the key has one.
    public let keyID: String?
    /// The one algorithm this key verifies.
    public let algorithm: JWTAlgorithm
    /// The parsed key, reused for every verification.
    let publicKey: LibCrypto.PublicKey

    /// The smallest RSA modulus accepted, in bits (RFC 7518 section 3.3 requires 2048).
    public static let minimumRSABits = 2048
    /// The largest RSA modulus accepted, in bits (OpenSSL's own limit).
    public static let maximumRSABits = 16384

    /// What reading one member of `keys` gave: a key, or a reason to leave it out.
    enum Reading {
        case usable(JSONWebKey)
        case skipped(String)
    }

    /// Members that only private keys have (RFC 7518 sections 6.2.2, 6.3.2 and 6.4; RFC 8037).
    static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

    /// Reads one member of a JWKS `keys` array.
    ///
    /// Keys this verifier cannot use but that a key set may rightly publish are skipped: another
    /// `use` or `key_ops`, an unknown `kty` or curve, an algorithm it does not implement. Keys that
    /// show an operator error are refused: private or symmetric keys, malformed or too-small keys,
    /// an `alg` that contradicts the key type.
    /// - Parameters:
    ///   - member: The JSON value from the array.
    ///   - origin: Where it came from, for error messages (`/etc/…/jwks.json keys[2]`).
    /// - Returns: The key, or why it was skipped.
    /// - Throws: `ConfigurationError` naming `origin` and the problem, never key material.
    static func read(_ member: JSONValue, origin: String) throws(ConfigurationError) -> Reading {
        func refuse(_ problem: String) -> ConfigurationError {
            ConfigurationError(setting: origin, problem: problem)
        }
        guard let object = member.objectValue else { throw refuse("is not a JSON object") }
        guard let type = object["kty"]?.stringValue else { throw refuse("has no kty string") }
        if type == "oct" {
            throw refuse("is a symmetric (oct) key; an HS256 secret belongs in its own secret file, not in a JWKS")
        }
        if let name = privateMembers.first(where: { object[$0] != nil }) {
            throw refuse("has the private key member \(shown(name)); a JWKS file must hold public keys only")
        }
        let keyID = try optionalString(object, "kid", refuse)
        let use = try optionalString(object, "use", refuse)
        let declared = try optionalString(object, "alg", refuse)
        if let use, use != "sig" {
            return .skipped("has use \(shown(use)), not \"sig\"")
        }
        if let operations = object["key_ops"] {
            guard let list = operations.arrayValue?.compactMap(\.stringValue),
                list.count == operations.arrayValue?.count
            else { throw refuse("has a key_ops member that is not an array of strings") }
            guard list.contains("verify") else { return .skipped("has key_ops without \"verify\"") }
        }

        let implied: JWTAlgorithm
        switch type {
        case "RSA":
            implied = .rs256
        case "EC":
            let curve = try optionalString(object, "crv", refuse)
            guard curve == "P-256" else { return .skipped("is on curve \(shown(curve ?? "(none)")), not P-256") }
            implied = .es256
        case "OKP":
            let curve = try optionalString(object, "crv", refuse)
            guard curve == "Ed25519" else { return .skipped("is on curve \(shown(curve ?? "(none)")), not Ed25519") }
            implied = .edDSA
        default:
            return .skipped("has kty \(shown(type)), which is not supported")
        }
        if let declared {
            guard let algorithm = JWTAlgorithm(joseName: declared) else {
                return .skipped("has alg \(shown(declared)), which is not supported")
            }
            guard algorithm == implied else {
                throw refuse("has alg \(algorithm), but its key type is only for \(implied)")
            }
        }

        let publicKey: LibCrypto.PublicKey
        switch implied {
        case .rs256:
            let modulus = try bytes(object, "n", refuse).drop { $0 == 0 }
            let exponent = try bytes(object, "e", refuse).drop { $0 == 0 }
            let bits = modulus.first.map { (modulus.count - 1) * 8 + 8 - $0.leadingZeroBitCount } ?? 0
            guard bits >= minimumRSABits, bits <= maximumRSABits else {
                throw refuse("has a \(bits)-bit RSA modulus; \(minimumRSABits) to \(maximumRSABits) bits are accepted")
            }
            guard let last = exponent.last, last & 1 == 1, exponent.count <= 8, exponent.count > 1 || last >= 3 else {
                throw refuse("has an RSA exponent e that is not an odd number from 3 to 2^64-1")
            }
            guard let key = LibCrypto.rsaPublicKey(modulus: Array(modulus), exponent: Array(exponent)) else {
                throw refuse("is not an RSA public key OpenSSL accepts")
            }
            publicKey = key
        case .es256:
            let x = try bytes(object, "x", refuse)
            let y = try bytes(object, "y", refuse)
            guard x.count == 32, y.count == 32 else { throw refuse("has P-256 coordinates that are not 32 bytes each") }
            guard let key = LibCrypto.p256PublicKey(x: x, y: y) else { throw refuse("is not a point on P-256") }
            publicKey = key
        case .edDSA:
            let x = try bytes(object, "x", refuse)
            guard object["y"] == nil else { throw refuse("is an Ed25519 key with a y member") }
            guard x.count == 32 else { throw refuse("has an Ed25519 public key that is not 32 bytes") }
            guard let key = LibCrypto.ed25519PublicKey(x) else { throw refuse("is not an Ed25519 key OpenSSL accepts") }
            publicKey = key
        case .hs256:
            preconditionFailure("no JWK type implies HS256")
        }
        return .usable(JSONWebKey(keyID: keyID, algorithm: implied, publicKey: publicKey))
    }

    private static func optionalString(
        _ object: [String: JSONValue], _ name: String, _ refuse: (String) -> ConfigurationError
    ) throws(ConfigurationError) -> String? {
        guard let value = object[name] else { return nil }
        guard let text = value.stringValue else { throw refuse("has a \(name) member that is not a string") }
        return text
    }

    private static func bytes(
        _ object: [String: JSONValue], _ name: String, _ refuse: (String) -> ConfigurationError
    ) throws(ConfigurationError) -> [UInt8] {
        guard let text = object[name]?.stringValue else { throw refuse("has no \(name) string") }
        guard let bytes = Base64URL.decode(text) else { throw refuse("has \(name) that is not unpadded base64url") }
        return bytes
    }

    /// A short quoted rendering of a member name or value from the file, safe for one log line.
    static func shown(_ text: String) -> String {
        JSONText.quoted(text.count > 24 ? String(text.prefix(24)) + "…" : text)
    }
}
