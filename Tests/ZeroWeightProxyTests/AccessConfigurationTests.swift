import Foundation
import Testing

@testable import ZeroWeightProxy

/// The access settings as `ProxySettings.load` reads them from the environment and the config file.
@Suite struct AccessConfigurationTests {
    private let configPath = ProxyConfiguration.defaultConfigPath
    private static let open = ["ZEROWEIGHT_PROXY_AUTH": "none", "ZEROWEIGHT_PROXY_AVATARS": "*"]
    private static let remoteUser = ["ZEROWEIGHT_PROXY_AUTH": "remote-user", "ZEROWEIGHT_PROXY_AVATARS": "*"]

    /// Loads with a key set, reading only the config file, whose text is `file` (nil: no file).
    private func load(_ environment: [String: String], file: String? = nil) -> Result<ProxySettings, ConfigurationError>
    {
        let environment = environment.merging(["ZEROWEIGHT_API_KEY": "k"]) { current, _ in current }
        return Result { () throws(ConfigurationError) in
            try ProxySettings.load(environment: environment) { [configPath] path in
                path == configPath ? file.map { Data($0.utf8) } : nil
            }
        }
    }

    private func access(_ environment: [String: String], file: String? = nil) throws -> AccessConfiguration {
        try load(environment, file: file).get().access
    }

    private func error(_ environment: [String: String], file: String? = nil) -> ConfigurationError? {
        guard case .failure(let error) = load(environment, file: file) else { return nil }
        return error
    }

    /// The tenant variable of a `remote-user` mode; nil for any other mode.
    private func tenantVariable(_ mode: AuthMode) -> String?? {
        guard case .remoteUser(let variable) = mode else { return nil }
        return .some(variable)
    }

    // MARK: auth

    @Test(arguments: [
        ["ZEROWEIGHT_PROXY_AVATARS": "*"], ["ZEROWEIGHT_PROXY_AVATARS": "*", "ZEROWEIGHT_PROXY_AUTH": ""],
    ])
    func authHasNoDefault(environment: [String: String]) {
        #expect(
            error(environment)
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_AUTH",
                    problem: "is not set (nor auth in the config file): choose none (anyone, for local use), "
                        + "remote-user (the web server signs callers in) or jwt (bearer tokens)"))
    }

    @Test func theKeyIsCheckedBeforeAccess() {
        let result = Result { () throws(ConfigurationError) in
            try ProxySettings.load(environment: [:]) { _ in nil }
        }
        guard case .failure(let problem) = result else {
            Issue.record("settings without a key were accepted")
            return
        }
        #expect(problem.setting == "ZEROWEIGHT_API_KEY")
    }

    @Test func noneReadsNameAndRoomFromTheQuery() throws {
        let settings = try load(Self.open).get()
        #expect(settings.access.authMode.name == "none")
        #expect(tenantVariable(settings.access.authMode) == nil)
        #expect(settings.access.policy == AvatarPolicy(everyone: .all))
        #expect(settings.access.tokenIdentity == TokenIdentityPolicy(name: .query, room: .query))
        #expect(settings.access.clientAddresses == ClientAddressResolver(trustedProxies: []))
        #expect(settings.log == .standardError)
        #expect(settings.upstream == ProxyConfiguration(apiKey: APIKey("k")!))
    }

    @Test func remoteUserBindsTheNameAndTakesNoRoom() throws {
        let access = try access(Self.remoteUser)
        #expect(tenantVariable(access.authMode) == .some(nil))
        #expect(
            access.tokenIdentity
                == TokenIdentityPolicy(name: .subject, mismatch: .reject, allowAnonymous: true, room: .none))
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        let access = try access(
            ["ZEROWEIGHT_PROXY_AUTH": "remote-user"], file: "auth = none\navatars = abc\n")
        #expect(access.authMode.name == "remote-user")
        #expect(access.policy == AvatarPolicy(everyone: .only(["abc"])))
    }

    @Test(arguments: ["ZW_TENANT", "A", "REMOTE_GROUP", "SSL_CLIENT_S_DN_O", "T1", String(repeating: "X", count: 64)])
    func tenantVariableNamesAServerVariable(variable: String) throws {
        let access = try access(
            Self.remoteUser.merging(["ZEROWEIGHT_PROXY_REMOTE_USER_TENANT_VARIABLE": variable]) { _, new in new })
        #expect(tenantVariable(access.authMode) == .some(variable))
    }

    @Test(arguments: [
        "HTTP_X_TENANT", "HTTP_", "HTTP_TENANT", "zw_tenant", "Zw_TENANT", "1TENANT", "_TENANT", "ZW-TENANT",
        "ZW TENANT", "ZWÉ", String(repeating: "X", count: 65),
    ])
    func tenantVariableRefusesClientHeadersAndOddNames(variable: String) {
        #expect(
            error(Self.remoteUser.merging(["ZEROWEIGHT_PROXY_REMOTE_USER_TENANT_VARIABLE": variable]) { _, new in new })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_REMOTE_USER_TENANT_VARIABLE",
                    problem: "must name a CGI variable the web server sets, such as ZW_TENANT (not an HTTP_ one, "
                        + "which a client could send)"))
    }

    // MARK: Bad values

    @Test(
        arguments: [
            ("ZEROWEIGHT_PROXY_AUTH", "basic", "must be none, remote-user or jwt"),
            ("ZEROWEIGHT_PROXY_AUTH", "None", "must be none, remote-user or jwt"),
            ("ZEROWEIGHT_PROXY_AUTH", "remote_user", "must be none, remote-user or jwt"),
            ("ZEROWEIGHT_PROXY_AVATARS", "abc, a/b", "has an invalid avatar id"),
            ("ZEROWEIGHT_PROXY_AVATARS", "abc, *", "* must stand alone"),
            ("ZEROWEIGHT_PROXY_AVATARS", "* *", "* must stand alone"),
            ("ZEROWEIGHT_PROXY_TOKEN_NAME", "claim", "must be query, subject or claim:<name>"),
            ("ZEROWEIGHT_PROXY_TOKEN_NAME", "Subject", "must be query, subject or claim:<name>"),
            ("ZEROWEIGHT_PROXY_TOKEN_NAME_MISMATCH", "warn", "must be reject or ignore"),
            ("ZEROWEIGHT_PROXY_TOKEN_ALLOW_ANONYMOUS", "yes", "must be true or false"),
            ("ZEROWEIGHT_PROXY_TOKEN_ALLOW_ANONYMOUS", "TRUE", "must be true or false"),
            ("ZEROWEIGHT_PROXY_TOKEN_ROOM", "random", "must be query, none or subject"),
            (
                "ZEROWEIGHT_PROXY_TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.0/33",
                "has 10.0.0.0/33, which is not an address or CIDR range"
            ),
            ("ZEROWEIGHT_PROXY_TRUSTED_PROXIES", "localhost", "has localhost, which is not an address or CIDR range"),
            ("ZEROWEIGHT_PROXY_LOG", "zw.log", "must be stderr, syslog or an absolute path"),
        ] as [(String, String, String)])
    func badValuesNameTheSetting(variable: String, value: String, problem: String) {
        let environment = Self.remoteUser.merging([variable: value]) { _, new in new }
        #expect(error(environment) == ConfigurationError(setting: variable, problem: problem))
    }

    @Test func badValuesInTheFileNameFileLineAndSetting() {
        #expect(
            error([:], file: "auth = remote-user\navatars = *\n\ntoken.room = random\n")
                == ConfigurationError(
                    setting: "\(configPath):4 (token.room)", problem: "must be query, none or subject"))
    }

    @Test func aLongBadProxyEntryIsCutInTheMessage() {
        let entry = String(repeating: "x", count: 100)
        #expect(
            error(Self.open.merging(["ZEROWEIGHT_PROXY_TRUSTED_PROXIES": entry]) { _, new in new })
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_TRUSTED_PROXIES",
                    problem: "has \(entry.prefix(64)), which is not an address or CIDR range"))
    }

    // MARK: avatars

    @Test func avatarsHaveNoDefault() {
        #expect(
            error(["ZEROWEIGHT_PROXY_AUTH": "none"])
                == ConfigurationError(
                    setting: "ZEROWEIGHT_PROXY_AVATARS",
                    problem: "is not set (nor avatars in the config file): list the avatars callers may use, "
                        + "or * for every avatar your key reaches"))
    }

    @Test func tenantEntriesAloneAreEnough() throws {
        let file = "auth = remote-user\ntenant.acme.avatars = a, b\ntenant.globex.avatars = *\n"
        #expect(
            try access([:], file: file).policy
                == AvatarPolicy(everyone: .only([]), tenants: ["acme": .only(["a", "b"]), "globex": .all]))
    }

    @Test func sharedAndTenantAvatarsTogether() throws {
        let file = "auth = remote-user\navatars = shared\ntenant.acme.avatars = a\n"
        #expect(
            try access([:], file: file).policy
                == AvatarPolicy(everyone: .only(["shared"]), tenants: ["acme": .only(["a"])]))
    }

    @Test(arguments: [
        ("tenant.acme.avatars = a *\n", "* must stand alone"),
        ("tenant.acme.avatars = a/b\n", "has an invalid avatar id"),
    ])
    func badTenantAvatarsNameTheLine(line: String, problem: String) {
        #expect(
            error([:], file: "auth = remote-user\n" + line)
                == ConfigurationError(setting: "\(configPath):2 (tenant.acme.avatars)", problem: problem))
    }

    // MARK: token.*

    @Test(arguments: [
        ("ZEROWEIGHT_PROXY_TOKEN_NAME", "subject"), ("ZEROWEIGHT_PROXY_TOKEN_ROOM", "subject"),
    ])
    func identitySourcesNeedAuthentication(variable: String, value: String) {
        #expect(
            error(Self.open.merging([variable: value]) { _, new in new })
                == ConfigurationError(setting: variable, problem: "needs auth other than none"))
    }

    @Test func queryAndNoRoomNeedNoAuthentication() throws {
        let environment = Self.open.merging([
            "ZEROWEIGHT_PROXY_TOKEN_NAME": "query", "ZEROWEIGHT_PROXY_TOKEN_ROOM": "none",
        ]) { _, new in new }
        #expect(try access(environment).tokenIdentity == TokenIdentityPolicy(name: .query, room: .none))
    }

    @Test func everyTokenSettingWithRemoteUser() throws {
        let file = """
            auth = remote-user
            avatars = *
            token.name = query
            token.name_mismatch = ignore
            token.allow_anonymous = false
            token.room = subject
            """
        #expect(
            try access([:], file: file).tokenIdentity
                == TokenIdentityPolicy(name: .query, mismatch: .ignore, allowAnonymous: false, room: .subject))
    }

    @Test func tokenSettingsFromTheEnvironment() throws {
        let environment = Self.remoteUser.merging([
            "ZEROWEIGHT_PROXY_TOKEN_NAME": "subject", "ZEROWEIGHT_PROXY_TOKEN_NAME_MISMATCH": "reject",
            "ZEROWEIGHT_PROXY_TOKEN_ALLOW_ANONYMOUS": "true", "ZEROWEIGHT_PROXY_TOKEN_ROOM": "query",
        ]) { _, new in new }
        #expect(
            try access(environment).tokenIdentity
                == TokenIdentityPolicy(name: .subject, mismatch: .reject, allowAnonymous: true, room: .query))
    }

    // MARK: trusted_proxies

    @Test(
        arguments: [
            ("10.0.0.0/8, 192.168.1.1 ::1", ["10.0.0.0/8", "192.168.1.1", "::1"]),
            ("2001:db8::/32", ["2001:db8::/32"]),
            (" , ", []),
        ] as [(String, [String])])
    func trustedProxiesAreParsed(value: String, ranges: [String]) throws {
        let access = try access(Self.open.merging(["ZEROWEIGHT_PROXY_TRUSTED_PROXIES": value]) { _, new in new })
        #expect(access.clientAddresses == ClientAddressResolver(trustedProxies: ranges.compactMap(AddressRange.init)))
        #expect(access.clientAddresses.trustedProxies.count == ranges.count)
    }

    // MARK: log

    @Test(arguments: [
        ("stderr", LogDestination.standardError), ("syslog", .syslog),
        ("/var/log/zeroweight-proxy/requests.log", .file(path: "/var/log/zeroweight-proxy/requests.log")),
    ])
    func logDestinations(value: String, destination: LogDestination) throws {
        #expect(try load(Self.open.merging(["ZEROWEIGHT_PROXY_LOG": value]) { _, new in new }).get().log == destination)
        #expect(try load([:], file: "auth = none\navatars = *\nlog = \(value)\n").get().log == destination)
    }

    @Test func anEmptyLogInTheFileIsAnError() {
        #expect(
            error([:], file: "auth = none\navatars = *\nlog =\n")
                == ConfigurationError(
                    setting: "\(configPath):3 (log)", problem: "must be stderr, syslog or an absolute path"))
    }

    // MARK: Unknown names

    @Test(arguments: [
        "ZEROWEIGHT_PROXY_AUTH_MODE", "ZEROWEIGHT_PROXY_TENANT_ACME_AVATARS", "ZEROWEIGHT_PROXY_avatars",
        "ZEROWEIGHT_PROXY_", "ZEROWEIGHT_PROXY_REMOTE_USER", "ZEROWEIGHT_PROXY_TOKEN", "ZEROWEIGHT_PROXY_TRUSTED_PROXY",
    ])
    func unknownProxyVariablesAreRefused(variable: String) {
        #expect(
            error(Self.open.merging([variable: "x"]) { _, new in new })
                == ConfigurationError(setting: variable, problem: "is not a zeroweight-proxy setting"))
    }

    @Test(arguments: ["tenant.avatars", "tenant..avatars", "tenant.acme.name", "tenants.acme.avatars", "token.names"])
    func unknownFileNamesAreRefused(name: String) {
        #expect(
            error([:], file: "auth = none\navatars = *\n\(name) = x\n")
                == ConfigurationError(setting: "\(configPath):3", problem: "\(name) is not a zeroweight-proxy setting"))
    }
}
