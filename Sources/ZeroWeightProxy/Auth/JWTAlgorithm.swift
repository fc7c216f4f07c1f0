/// A JWS signature algorithm the verifier can check (RFC 7518 section 3, RFC 8037 section 3.1).
///
/// The verifier, never the token, decides which of these are acceptable; `none` is not among them.
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// HMAC with SHA-256, keyed by a shared secret.
    case hs256 = "HS256"
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// EdDSA with Ed25519.
    case edDSA = "EdDSA"

    /// The algorithm a JOSE `alg` value names, compared byte for byte.
    ///
    /// `init(rawValue:)` compares Swift strings, which are equal under Unicode canonical
    /// equivalence; a header value must match the registered name exactly.
    /// - Parameter joseName: The `alg` value from a JOSE header or a JWK.
    /// - Returns: The algorithm, or nil for any other name (`none`, `RS384`, `hs256`, …).
    init?(joseName: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.utf8.elementsEqual(joseName.utf8) }) else {
            return nil
        }
        self = match
    }

    public var description: String { rawValue }
}
