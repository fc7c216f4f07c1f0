/// Who is asking, as established by the configured authentication.
public struct Caller: Sendable, Hashable {
    /// The verified subject (`REMOTE_USER`, or the JWT's subject claim); nil when anonymous.
    public var subject: String?
    /// The caller's tenant, when the configuration names where it comes from.
    public var tenant: String?
    /// The display name the configuration derives from the identity (subject or a claim).
    public var boundName: String?

    public init(subject: String? = nil, tenant: String? = nil, boundName: String? = nil) {
        self.subject = subject
        self.tenant = tenant
        self.boundName = boundName
    }

    public static let anonymous = Caller()
}
