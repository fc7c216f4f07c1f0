import Foundation

/// Who may call, for which avatars, under which name, and from which address: the settings that
/// run before any upstream call.
public struct AccessConfiguration: Sendable {
    public var authMode: AuthMode
    public var policy: AvatarPolicy
    public var tokenIdentity: TokenIdentityPolicy
    public var clientAddresses: ClientAddressResolver

    public init(
        authMode: AuthMode, policy: AvatarPolicy, tokenIdentity: TokenIdentityPolicy,
        clientAddresses: ClientAddressResolver = ClientAddressResolver(trustedProxies: [])
    ) {
        self.authMode = authMode
        self.policy = policy
        self.tokenIdentity = tokenIdentity
        self.clientAddresses = clientAddresses
    }

    /// The access settings among `settings`.
    ///
    /// - Throws: `ConfigurationError` naming the setting: `auth` and `avatars` have no default.
    static func load(
        _ settings: SettingValues, readFile: ProxyConfiguration.FileReader
    ) throws(ConfigurationError) -> AccessConfiguration {
        let nameClaim = try loadNameClaim(settings)
        let authMode = try loadAuthMode(settings, readFile: readFile, nameClaim: nameClaim?.text)
        let policy = try loadPolicy(settings)
        let identity = try loadTokenIdentity(settings, authMode: authMode)
        var trusted: [AddressRange] = []
        if let value = settings["trusted_proxies"] {
            switch AddressRange.parseList(value.text) {
            case .success(let ranges): trusted = ranges
            case .failure(let bad):
                throw ConfigurationError(
                    setting: value.origin, problem: "has \(bad.text.prefix(64)), which is not an address or CIDR range")
            }
        }
        return AccessConfiguration(
            authMode: authMode, policy: policy, tokenIdentity: identity,
            clientAddresses: ClientAddressResolver(trustedProxies: trusted))
    }

    /// The claim of `token.name = claim:<name>`, if that is the setting.
    private static func loadNameClaim(_ settings: SettingValues) throws(ConfigurationError) -> SettingValues.Value? {
        guard let value = settings["token.name"], value.text.hasPrefix("claim:") else { return nil }
        let claim = String(value.text.dropFirst("claim:".count))
        guard !claim.isEmpty, settings["auth"]?.text == "jwt" else {
            throw ConfigurationError(setting: value.origin, problem: "claim:<name> needs auth = jwt and a claim name")
        }
        return SettingValues.Value(text: claim, origin: value.origin)
    }

    private static func loadAuthMode(
        _ settings: SettingValues, readFile: ProxyConfiguration.FileReader, nameClaim: String?
    ) throws(ConfigurationError) -> AuthMode {
        guard let value = settings["auth"] else {
            throw ConfigurationError(
                setting: "ZEROWEIGHT_PROXY_AUTH",
                problem: "is not set (nor auth in the config file): choose none (anyone, for local use), "
                    + "remote-user (the web server signs callers in) or jwt (bearer tokens)")
        }
        switch value.text {
        case "none":
            return .none
        case "remote-user":
            guard let variable = settings["remote_user.tenant_variable"] else {
                return .remoteUser(tenantVariable: nil)
            }
            guard isServerVariableName(variable.text) else {
                throw ConfigurationError(
                    setting: variable.origin,
                    problem: "must name a CGI variable the web server sets, such as ZW_TENANT (not an HTTP_ one, "
                        + "which a client could send)")
            }
            return .remoteUser(tenantVariable: variable.text)
        case "jwt":
            return .jwt(try JWTAuthentication.load(settings, readFile: readFile, nameClaim: nameClaim))
        default:
            throw ConfigurationError(setting: value.origin, problem: "must be none, remote-user or jwt")
        }
    }

    /// `[A-Z][A-Z0-9_]*`, and not `HTTP_*`.
    static func isServerVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first),
            !name.hasPrefix("HTTP_"), name.utf8.count <= 64
        else { return false }
        return name.utf8.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    private static func loadPolicy(_ settings: SettingValues) throws(ConfigurationError) -> AvatarPolicy {
        var policy = AvatarPolicy()
        let tenants = settings.matching(prefix: "tenant.", suffix: ".avatars")
        if let value = settings["avatars"] {
            policy.everyone = try parseAvatars(value)
        } else if tenants.isEmpty {
            throw ConfigurationError(
                setting: "ZEROWEIGHT_PROXY_AVATARS",
                problem: "is not set (nor avatars in the config file): list the avatars callers may use, "
                    + "or * for every avatar your key reaches")
        }
        for (tenant, value) in tenants {
            policy.tenants[tenant] = try parseAvatars(value)
        }
        return policy
    }

    private static func parseAvatars(_ value: SettingValues.Value) throws(ConfigurationError) -> AvatarPolicy.Avatars {
        switch AvatarPolicy.Avatars.parse(value.text) {
        case .success(let avatars): return avatars
        case .failure(let bad): throw ConfigurationError(setting: value.origin, problem: bad.problem)
        }
    }

    private static func loadTokenIdentity(
        _ settings: SettingValues, authMode: AuthMode
    ) throws(ConfigurationError) -> TokenIdentityPolicy {
        let authenticated: Bool
        if case .none = authMode { authenticated = false } else { authenticated = true }
        var policy = TokenIdentityPolicy(
            name: authenticated ? .subject : .query, room: authenticated ? .none : .query)
        if let value = settings["token.name"] {
            switch value.text {
            case "query": policy.name = .query
            case "subject": policy.name = .subject
            case let text where text.hasPrefix("claim:"): policy.name = .claim(String(text.dropFirst(6)))
            default:
                throw ConfigurationError(setting: value.origin, problem: "must be query, subject or claim:<name>")
            }
            if policy.name != .query && !authenticated {
                throw ConfigurationError(setting: value.origin, problem: "needs auth other than none")
            }
        }
        if let value = settings["token.name_mismatch"] {
            guard let mismatch = TokenIdentityPolicy.Mismatch(rawValue: value.text) else {
                throw ConfigurationError(setting: value.origin, problem: "must be reject or ignore")
            }
            policy.mismatch = mismatch
        }
        if let value = settings["token.allow_anonymous"] {
            switch value.text {
            case "true": policy.allowAnonymous = true
            case "false": policy.allowAnonymous = false
            default: throw ConfigurationError(setting: value.origin, problem: "must be true or false")
            }
        }
        if let value = settings["token.room"] {
            guard let room = TokenIdentityPolicy.RoomSource(rawValue: value.text) else {
                throw ConfigurationError(setting: value.origin, problem: "must be query, none or subject")
            }
            if room == .subject && !authenticated {
                throw ConfigurationError(setting: value.origin, problem: "needs auth other than none")
            }
            policy.room = room
        }
        return policy
    }
}
