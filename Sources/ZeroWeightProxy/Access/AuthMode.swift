/// How callers are authenticated; chosen explicitly with `auth`, never by default.
public enum AuthMode: Sendable {
    /// No authentication: every caller is anonymous (an explicit opt-out for local use).
    case none
    /// The web server authenticated the caller (basic auth, client certificates, `auth_request`)
    /// and passes the identity as `REMOTE_USER`; the tenant, if any, comes from the CGI variable
    /// named here, which the web server sets (never an `HTTP_*` one a client could send).
    case remoteUser(tenantVariable: String?)
    /// The handler verifies a JWT itself.
    case jwt(JWTAuthentication)

    /// The name used in the config file and logs.
    public var name: String {
        switch self {
        case .none: "none"
        case .remoteUser: "remote-user"
        case .jwt: "jwt"
        }
    }
}
