import Foundation

/// Establishes the `Caller` of a request according to the `AuthMode`.
public struct Authenticator: Sendable {
    public let mode: AuthMode

    public init(mode: AuthMode) {
        self.mode = mode
    }

    /// What authentication concluded, for the answer and the log.
    public enum Outcome: Sendable, Hashable {
        /// Authentication is off (`auth = none`).
        case anonymous(Caller)
        /// The caller proved who they are.
        case authenticated(Caller)
        /// No credentials where some were needed.
        case missing(ProxyError)
        /// Credentials that failed a check; `reason` is a stable code for the log only.
        case invalid(ProxyError, reason: String)

        /// The log's `auth` field.
        public var logValue: String {
            switch self {
            case .anonymous: "none"
            case .authenticated: "ok"
            case .missing: "missing"
            case .invalid: "invalid"
            }
        }
    }

    /// Authenticates the request in `environment` (CGI variables).
    public func authenticate(_ environment: [String: String], now: Date = Date()) -> Outcome {
        switch mode {
        case .jwt(let jwt):
            return jwt.authenticate(environment, now: now)
        case .none:
            return .anonymous(.anonymous)
        case .remoteUser(let tenantVariable):
            guard let user = environment["REMOTE_USER"], !user.isEmpty else {
                return .missing(.notAuthenticatedByServer)
            }
            guard Self.isUsableIdentity(user) else {
                return .invalid(.notAuthenticatedByServer, reason: "bad_remote_user")
            }
            var tenant: String?
            if let tenantVariable, let value = environment[tenantVariable], !value.isEmpty {
                guard Self.isUsableIdentity(value) else {
                    return .invalid(.notAuthenticatedByServer, reason: "bad_tenant")
                }
                tenant = value
            }
            return .authenticated(Caller(subject: user, tenant: tenant, boundName: user))
        }
    }

    /// Identities are at most 256 bytes of printable characters: they go into logs and names.
    static func isUsableIdentity(_ value: String) -> Bool {
        value.utf8.count <= 256
            && !value.unicodeScalars.contains { scalar in
                switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator: true
                default: false
                }
            }
    }
}
