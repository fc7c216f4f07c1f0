/// Why a token was refused: a stable machine code and one sentence.
///
/// Callers match on the static values (`JWTError.expired`); the set can grow without breaking
/// them. The message never contains the token, its claims or any key material, so it is safe to
/// log and to show to the client.
public struct JWTError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case malformed = "malformed_token"
        case tooLarge = "token_too_large"
        case algorithmNotAllowed = "algorithm_not_allowed"
        case unknownKey = "unknown_key"
        case badSignature = "bad_signature"
        case expired = "token_expired"
        case notYetValid = "token_not_yet_valid"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case missingExpiry = "missing_expiry"
    }

    private let kind: Code

    private init(_ kind: Code) {
        self.kind = kind
    }

    /// The stable snake_case code, for logs and `error.code` in answers.
    public var code: String { kind.rawValue }

    /// One sentence for people.
    public var message: String {
        switch kind {
        case .malformed:
            "The token is not a well-formed signed JWT."
        case .tooLarge:
            "The token is larger than the verifier accepts."
        case .algorithmNotAllowed:
            "The token's signature algorithm is not allowed."
        case .unknownKey:
            "No configured key matches the token's key id and algorithm."
        case .badSignature:
            "The token's signature does not verify."
        case .expired:
            "The token has expired."
        case .notYetValid:
            "The token is not valid yet."
        case .wrongIssuer:
            "The token was not issued by the expected issuer."
        case .wrongAudience:
            "The token is not meant for this audience."
        case .missingExpiry:
            "The token has no expiry time."
        }
    }

    public var description: String { "\(code): \(message)" }

    /// Not three base64url parts, a header or claims that are not a JSON object, a `crit` or
    /// non-`JWT` `typ` header, or a claim of the wrong type.
    public static let malformed = JWTError(.malformed)
    /// Longer than `maximumTokenBytes`; refused before any decoding.
    public static let tooLarge = JWTError(.tooLarge)
    /// `alg` is `none`, unknown, or not in the configured allowlist.
    public static let algorithmNotAllowed = JWTError(.algorithmNotAllowed)
    /// The `kid` names no key, or no key is bound to the header's algorithm.
    public static let unknownKey = JWTError(.unknownKey)
    /// The signature does not verify with the chosen key.
    public static let badSignature = JWTError(.badSignature)
    /// `exp` (plus leeway) is not after now.
    public static let expired = JWTError(.expired)
    /// `nbf` (minus leeway) is after now.
    public static let notYetValid = JWTError(.notYetValid)
    /// `iss` is missing or differs from the configured issuer.
    public static let wrongIssuer = JWTError(.wrongIssuer)
    /// `aud` is missing or does not contain the configured audience.
    public static let wrongAudience = JWTError(.wrongAudience)
    /// The claims have no `exp`.
    public static let missingExpiry = JWTError(.missingExpiry)
}
