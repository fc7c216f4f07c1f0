import Testing

@testable import ZeroWeightProxy

@Suite struct AuthenticatorTests {
    private let remoteUser = Authenticator(mode: .remoteUser(tenantVariable: nil))
    private let withTenant = Authenticator(mode: .remoteUser(tenantVariable: "ZW_TENANT"))

    @Test(arguments: [[:], ["REMOTE_USER": "alice"], ["REMOTE_USER": "a\nb", "HTTP_AUTHORIZATION": "Bearer x"]])
    func noneMakesEveryCallerAnonymous(environment: [String: String]) {
        let outcome = Authenticator(mode: .none).authenticate(environment)
        #expect(outcome == .anonymous(Caller(subject: nil, tenant: nil, boundName: nil)))
        #expect(outcome.logValue == "none")
    }

    @Test(arguments: [[:], ["REMOTE_USER": ""], ["HTTP_REMOTE_USER": "alice"], ["AUTH_TYPE": "Basic"]])
    func missingOrEmptyRemoteUserIs401WithoutAChallenge(environment: [String: String]) {
        let outcome = remoteUser.authenticate(environment)
        #expect(outcome == .missing(.notAuthenticatedByServer))
        #expect(outcome.logValue == "missing")
        #expect(ProxyError.notAuthenticatedByServer.status.code == 401)
        #expect(ProxyError.notAuthenticatedByServer.code == "authentication_required")
        #expect(ProxyError.notAuthenticatedByServer.headers.isEmpty)
    }

    @Test(arguments: ["alice", "alice@example.com", "CN=Alice,O=Example", "Zoë 👋", String(repeating: "a", count: 256)])
    func remoteUserIsTheSubjectAndTheBoundName(user: String) {
        let outcome = remoteUser.authenticate(["REMOTE_USER": user])
        #expect(outcome == .authenticated(Caller(subject: user, tenant: nil, boundName: user)))
        #expect(outcome.logValue == "ok")
    }

    @Test(arguments: [("acme", "acme"), ("", nil), (nil, nil)] as [(String?, String?)])
    func tenantComesFromTheNamedVariable(value: String?, tenant: String?) {
        var environment = ["REMOTE_USER": "alice", "HTTP_ZW_TENANT": "forged"]
        environment["ZW_TENANT"] = value
        #expect(
            withTenant.authenticate(environment)
                == .authenticated(Caller(subject: "alice", tenant: tenant, boundName: "alice")))
    }

    @Test func withoutATenantVariableNoTenantIsRead() {
        let outcome = remoteUser.authenticate(["REMOTE_USER": "alice", "ZW_TENANT": "acme"])
        #expect(outcome == .authenticated(Caller(subject: "alice", tenant: nil, boundName: "alice")))
    }

    @Test(arguments: [
        "alice\n", "al\rice", "a\u{0}", "a\u{7F}", "a\u{1B}[2J", "a\u{85}b", "\u{202E}alice", "a\u{200B}b",
        "a\u{2028}b", "a\u{2029}b", String(repeating: "a", count: 257), String(repeating: "é", count: 129),
    ])
    func unusableRemoteUserIsRefused(user: String) {
        let outcome = withTenant.authenticate(["REMOTE_USER": user, "ZW_TENANT": "acme"])
        #expect(outcome == .invalid(.notAuthenticatedByServer, reason: "bad_remote_user"))
        #expect(outcome.logValue == "invalid")
    }

    @Test(arguments: ["acme\n", "ac\u{0}me", "\u{202E}acme", String(repeating: "t", count: 257)])
    func unusableTenantIsRefused(tenant: String) {
        let outcome = withTenant.authenticate(["REMOTE_USER": "alice", "ZW_TENANT": tenant])
        #expect(outcome == .invalid(.notAuthenticatedByServer, reason: "bad_tenant"))
        #expect(outcome.logValue == "invalid")
    }

    @Test func theRemoteUserIsCheckedBeforeTheTenant() {
        let outcome = withTenant.authenticate(["REMOTE_USER": "a\nb", "ZW_TENANT": "t\nu"])
        #expect(outcome == .invalid(.notAuthenticatedByServer, reason: "bad_remote_user"))
    }

    @Test func modeNames() {
        #expect(AuthMode.none.name == "none")
        #expect(AuthMode.remoteUser(tenantVariable: "ZW_TENANT").name == "remote-user")
        #expect(AuthMode.remoteUser(tenantVariable: nil).name == "remote-user")
    }
}
