import Foundation

/// `auth = jwt`: a bearer token (or a cookie) verified by `JWTVerifier`, and where in its claims the
/// caller's subject, tenant and display name are.
public struct JWTAuthentication: Sendable {
    public let verifier: JWTVerifier
    /// A cookie to read the token from when no `Authorization: Bearer` header came.
    public let cookie: String?
    public let subjectClaim: String
    public let tenantClaim: String?
    /// The claim the token route's `name` comes from; nil: the subject.
    public let nameClaim: String?

    public init(
        verifier: JWTVerifier, cookie: String? = nil, subjectClaim: String = "sub", tenantClaim: String? = nil,
        nameClaim: String? = nil
    ) {
        self.verifier = verifier
        self.cookie = cookie
        self.subjectClaim = subjectClaim
        self.tenantClaim = tenantClaim
        self.nameClaim = nameClaim
    }

    /// Verifies the request's token at `now`.
    func authenticate(_ environment: [String: String], now: Date) -> Authenticator.Outcome {
        guard let token = token(in: environment) else { return .missing(.authenticationRequired) }
        let claims: JWTClaims
        do {
            claims = try verifier.verify(token, now: now)
        } catch {
            return .invalid(.invalidToken, reason: error.code)
        }
        guard let subject = claims.string(subjectClaim), !subject.isEmpty,
            Authenticator.isUsableIdentity(subject)
        else { return .invalid(.invalidToken, reason: "missing_subject") }
        var tenant: String?
        if let tenantClaim, let value = claims.string(tenantClaim), !value.isEmpty {
            guard Authenticator.isUsableIdentity(value) else { return .invalid(.invalidToken, reason: "bad_tenant") }
            tenant = value
        }
        let name = nameClaim.map { claims.string($0) } ?? subject
        return .authenticated(Caller(subject: subject, tenant: tenant, boundName: name))
    }

    /// The token from `Authorization: Bearer …`, else from the configured cookie.
    func token(in environment: [String: String]) -> String? {
        if let header = environment["HTTP_AUTHORIZATION"] {
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmingCharacters(in: .whitespaces)
                return token.isEmpty ? nil : token
            }
        }
        guard let cookie, let header = environment["HTTP_COOKIE"] else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == cookie else { continue }
            let value = String(trimmed[trimmed.index(after: equals)...])
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
