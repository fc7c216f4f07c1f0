import Foundation
import Testing

@testable import ZeroWeightProxy

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

private let secret = "zw_live_S3cr3t_t0k3n_9f8e"

/// An upstream that records what it is sent and answers with a scripted result.
private final class FakeTransport: UpstreamTransport, @unchecked Sendable {
    struct Call {
        let request: URLRequest
        let maximumBytes: Int
        let timeout: Double
    }

    private let lock = NSLock()
    private var recorded: [Call] = []
    private let result: UpstreamResult
    private let answerLater: Bool

    init(answering result: UpstreamResult, later: Bool = false) {
        self.result = result
        self.answerLater = later
    }

    var calls: [Call] { lock.withLock { recorded } }

    func send(
        _ request: URLRequest, maximumBytes: Int, timeout: Double,
        completion: @escaping @Sendable (UpstreamResult) -> Void
    ) {
        lock.withLock { recorded.append(Call(request: request, maximumBytes: maximumBytes, timeout: timeout)) }
        if answerLater {
            DispatchQueue.global().async { [result] in completion(result) }
        } else {
            completion(result)
        }
    }
}

/// Collects values handed over from any thread.
private final class Collector<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    func append(_ value: Value) { lock.withLock { stored.append(value) } }
    var all: [Value] { lock.withLock { stored } }
}

@Suite struct ProxyHandlerTests {
    private static let okBody = #"{"token":"eyJ.x.y","url":"wss://lk.example"}"#
    private static let requestID = "req-test-1"
    private static let tokenURL = "https://api.zeroweight.ai/api/v1/livekit/getToken"
    /// The body's entity tag: base64url of the first 16 bytes of its SHA-256 (computed with Python's hashlib).
    private static let okTag = HTTPHeader("ETag", #""gBTyXCRkGNvoqFowjmHZ9g""#)
    /// A bundle's 200: its entity tag, and browsers may keep it but must revalidate.
    private static let okAnswer = ProxyResponse(
        status: .ok, headers: [okTag, HTTPHeader("X-Request-ID", requestID)], body: Data(okBody.utf8),
        cacheControl: "private, no-cache")
    /// A token's 200: never stored anywhere.
    private static let okTokenAnswer = ProxyResponse(
        status: .ok, headers: [HTTPHeader("X-Request-ID", requestID)], body: Data(okBody.utf8))

    private let key = APIKey(secret)!

    private func configuration(
        base: String = "https://api.zeroweight.ai", timeout: Double = 7, maximumBytes: Int = 65536
    ) -> ProxyConfiguration {
        ProxyConfiguration(
            apiKey: key, apiBase: APIBase(validating: base)!, timeout: timeout, maximumResponseBytes: maximumBytes)
    }

    /// Settings around `upstream`; by default no authentication, every avatar, name and room from the query.
    private func settings(
        _ upstream: ProxyConfiguration? = nil, auth: AuthMode = .none,
        avatars: AvatarPolicy = AvatarPolicy(everyone: .all),
        identity: TokenIdentityPolicy = TokenIdentityPolicy(name: .query, room: .query),
        trustedProxies: [String] = []
    ) -> ProxySettings {
        ProxySettings(
            upstream: upstream ?? configuration(),
            access: AccessConfiguration(
                authMode: auth, policy: avatars, tokenIdentity: identity,
                clientAddresses: ClientAddressResolver(trustedProxies: trustedProxies.map { AddressRange($0)! })))
    }

    /// `remote-user` settings with the loader's defaults: name from the subject, no room from callers.
    private func remoteUser(
        tenantVariable: String? = nil, avatars: AvatarPolicy = AvatarPolicy(everyone: .all),
        identity: TokenIdentityPolicy = TokenIdentityPolicy(name: .subject, room: .none)
    ) -> ProxySettings {
        settings(auth: .remoteUser(tenantVariable: tenantVariable), avatars: avatars, identity: identity)
    }

    private func environment(
        method: String? = "GET", path: String? = nil, query: String = "", contentLength: String? = nil,
        remoteAddress: String = "203.0.113.7", user: String? = nil, requestID: String? = Self.requestID,
        extra: [String: String] = [:]
    ) -> [String: String] {
        var environment = ["QUERY_STRING": query, "REMOTE_ADDR": remoteAddress]
        environment["REQUEST_METHOD"] = method
        environment["PATH_INFO"] = path
        environment["CONTENT_LENGTH"] = contentLength
        environment["REMOTE_USER"] = user
        environment["HTTP_X_REQUEST_ID"] = requestID
        return environment.merging(extra) { _, new in new }
    }

    /// The handler's answer for `error`: the error body with the request id, `X-Request-ID` last.
    private func answer(_ error: ProxyError, requestID: String = Self.requestID) -> ProxyResponse {
        var response = ProxyResponse(error: error, requestID: requestID)
        response.headers.append(HTTPHeader("X-Request-ID", requestID))
        return response
    }

    private struct Outcome {
        let responses: [ProxyResponse]
        let calls: [FakeTransport.Call]
        let lines: [String]

        var response: ProxyResponse? { responses.count == 1 ? responses[0] : nil }
    }

    /// Runs one request through a handler whose transport answers at once.
    private func run(
        _ route: Route, _ environment: [String: String],
        settings: Result<ProxySettings, ConfigurationError>? = nil,
        upstream: UpstreamResult = .response(UpstreamResponse(status: 200, body: Data(okBody.utf8)))
    ) -> Outcome {
        let transport = FakeTransport(answering: upstream)
        let lines = Collector<String>()
        let responses = Collector<ProxyResponse>()
        let handler = ProxyHandler(
            route: route, settings: settings ?? .success(self.settings()), transport: transport,
            logger: RequestLogger { lines.append($0) })
        handler.handle(environment: environment) { responses.append($0) }
        return Outcome(responses: responses.all, calls: transport.calls, lines: lines.all)
    }

    private func fields(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    private func loggedFields(_ outcome: Outcome) throws -> [String: Any] {
        #expect(outcome.lines.count == 1)
        return try fields(try #require(outcome.lines.first))
    }

    // MARK: Rejected requests never reach the upstream

    @Test(
        arguments: [
            (Route.bundle, ["REQUEST_METHOD": "POST", "PATH_INFO": "/abc"], ProxyError.methodNotAllowed),
            (.bundle, ["PATH_INFO": "/abc"], .missingMethod),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/abc", "CONTENT_LENGTH": "3"], .unexpectedBody),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/../../livekit/getToken"], .invalidPath),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/a%2Fb"], .invalidAvatarID),
            (.bundle, ["REQUEST_METHOD": "GET"], .missingAvatarID),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/abc", "QUERY_STRING": "x=1"], .unknownParameter),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": ""], .missingAvatarID),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=abc&name=%E2%80%AE"], .invalidName),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=abc&room=a%2Fb"], .invalidRoom),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=abc&avatar_id=def"], .duplicateParameter),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=%FF"], .malformedQuery),
            (.token, ["REQUEST_METHOD": "DELETE", "QUERY_STRING": "avatar_id=abc"], .methodNotAllowed),
        ] as [(Route, [String: String], ProxyError)])
    func rejectedRequestMakesNoUpstreamCall(route: Route, environment: [String: String], error: ProxyError) throws {
        let outcome = run(route, environment.merging(["HTTP_X_REQUEST_ID": Self.requestID]) { old, _ in old })
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(error)])
        let logged = try loggedFields(outcome)
        #expect(logged["status"] as? Int == error.status.code)
        #expect(logged["error"] as? String == error.code)
        #expect(logged["request_id"] as? String == Self.requestID)
        #expect(logged["upstream_status"] == nil)
        #expect(logged["upstream_ms"] == nil)
        #expect(logged["avatar_id"] == nil)
    }

    @Test func misconfigurationWinsOverRejectedRequest() {
        let missingKey = ConfigurationError(setting: "ZEROWEIGHT_API_KEY", problem: "is not set")
        let outcome = run(.bundle, environment(method: "POST", path: "/abc"), settings: .failure(missingKey))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.misconfigured)])
    }

    @Test(arguments: Route.allCases)
    func misconfiguredHandlerAnswers500WithoutCallingUpstream(route: Route) throws {
        let problem = Result { () throws(ConfigurationError) in try ProxySettings.load(environment: [:]) { _ in nil } }
        let request = route == .bundle ? environment(path: "/abc") : environment(query: "avatar_id=abc")
        let outcome = run(route, request, settings: problem)
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.misconfigured)])
        let response = try #require(outcome.response)
        #expect(response.status.code == 500)
        #expect(
            response.body
                == Data(
                    (#"{"error":{"code":"proxy_misconfigured","#
                        + #""message":"The proxy is not configured correctly; see its log.","#
                        + #""request_id":"req-test-1"}}"#).utf8))
        #expect(response.headers == [HTTPHeader("X-Request-ID", Self.requestID)])
        let logged = try loggedFields(outcome)
        #expect(logged["error"] as? String == "proxy_misconfigured")
        #expect(logged["detail"] as? String == "ZEROWEIGHT_API_KEY: is not set; set it or ZEROWEIGHT_API_KEY_FILE")
        #expect(logged["request_id"] as? String == Self.requestID)
        // The settings are checked before the request is read, so no avatar id is known yet.
        #expect(logged["avatar_id"] == nil)
        #expect(logged["auth"] == nil)
    }

    @Test func misconfigurationDetailNeverCarriesTheKey() throws {
        let problem = Result { () throws(ConfigurationError) in
            try ProxySettings.load(environment: [
                "ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_BASE": "http://\(secret).example",
            ]) { _ in nil }
        }
        let outcome = run(.bundle, environment(path: "/abc"), settings: problem)
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.misconfigured)])
        #expect(outcome.lines.count == 1)
        #expect(!outcome.lines.joined().contains(secret))
        #expect(outcome.lines.joined().contains(#""detail":"ZEROWEIGHT_API_BASE: "#))
    }

    // MARK: Order of checks

    @Test func misconfigurationWinsOverMissingAuthentication() {
        let missingAuth = ConfigurationError(setting: "ZEROWEIGHT_PROXY_AUTH", problem: "is not set")
        let outcome = run(.bundle, environment(method: "POST", path: "/a/b"), settings: .failure(missingAuth))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.misconfigured)])
    }

    @Test(
        arguments: [
            (Route.bundle, ["REQUEST_METHOD": "POST", "PATH_INFO": "/abc"]),
            (.bundle, ["PATH_INFO": "/abc"]),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/a/b"]),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/abc", "CONTENT_LENGTH": "3"]),
            (.bundle, ["REQUEST_METHOD": "GET", "PATH_INFO": "/abc", "REMOTE_USER": ""]),
            (.token, ["REQUEST_METHOD": "DELETE", "QUERY_STRING": "avatar_id=abc"]),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=%FF"]),
            (.token, ["REQUEST_METHOD": "GET", "QUERY_STRING": "avatar_id=abc&name=Alice"]),
        ] as [(Route, [String: String])])
    func missingRemoteUserIs401BeforeAnyRequestCheck(route: Route, environment: [String: String]) throws {
        let request = environment.merging(["HTTP_X_REQUEST_ID": Self.requestID, "REMOTE_ADDR": "203.0.113.7"]) {
            old, _ in old
        }
        let outcome = run(route, request, settings: .success(remoteUser()))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.notAuthenticatedByServer)])
        // The web server signs callers in, so there is no challenge to answer.
        #expect(outcome.response?.headers == [HTTPHeader("X-Request-ID", Self.requestID)])
        #expect(outcome.response?.status.code == 401)
        let logged = try loggedFields(outcome)
        #expect(logged["status"] as? Int == 401)
        #expect(logged["error"] as? String == "authentication_required")
        #expect(logged["auth"] as? String == "missing")
        #expect(logged["auth_detail"] == nil)
        #expect(logged["subject"] == nil)
        #expect(logged["avatar_id"] == nil)
    }

    @Test func unusableRemoteUserIs401AndIsNotLogged() throws {
        let outcome = run(
            .bundle, environment(path: "/abc", user: "alice\n{\"forged\":1}"), settings: .success(remoteUser()))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.notAuthenticatedByServer)])
        let logged = try loggedFields(outcome)
        #expect(logged["auth"] as? String == "invalid")
        #expect(logged["auth_detail"] as? String == "bad_remote_user")
        #expect(logged["subject"] == nil)
        #expect(!outcome.lines.joined().contains("forged"))
    }

    @Test(
        arguments: [
            (Route.bundle, ["PATH_INFO": "/other"]),
            (.token, ["QUERY_STRING": "avatar_id=other"]),
            // The avatar is checked before the name and the room.
            (.token, ["QUERY_STRING": "avatar_id=other&name=Mallory&room=r1"]),
        ] as [(Route, [String: String])])
    func avatarOutsideThePolicyIs403WithoutCallingUpstream(route: Route, request: [String: String]) throws {
        let policy = AvatarPolicy(everyone: .only(["abc"]))
        let outcome = run(
            route, environment(user: "alice", extra: request), settings: .success(remoteUser(avatars: policy)))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.avatarNotAllowed)])
        #expect(outcome.response?.status.code == 403)
        let logged = try loggedFields(outcome)
        #expect(logged["error"] as? String == "avatar_not_allowed")
        #expect(logged["avatar_id"] as? String == "other")
        #expect(logged["auth"] as? String == "ok")
        #expect(logged["subject"] as? String == "alice")
    }

    @Test func malformedRequestIs400BeforeThePolicy() {
        let policy = AvatarPolicy(everyone: .only(["abc"]))
        let outcome = run(
            .token, environment(query: "avatar_id=other&x=1", user: "alice"),
            settings: .success(remoteUser(avatars: policy)))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.unknownParameter)])
    }

    @Test(arguments: [("abc", true), ("def", false)])
    func avatarPolicyAppliesWithoutAuthentication(avatar: String, allowed: Bool) throws {
        let only = settings(avatars: AvatarPolicy(everyone: .only(["abc"])))
        let outcome = run(.bundle, environment(path: "/" + avatar), settings: .success(only))
        #expect(outcome.responses == [allowed ? Self.okAnswer : answer(.avatarNotAllowed)])
        #expect(outcome.calls.count == (allowed ? 1 : 0))
        #expect(try loggedFields(outcome)["auth"] as? String == "none")
    }

    @Test(
        arguments: [
            ("a", "alpha", true), ("a", "beta", false), ("b", "beta", true), ("b", "alpha", false),
            ("a", "shared", true), ("c", "alpha", false), (nil, "alpha", false), (nil, "shared", true),
        ] as [(String?, String, Bool)])
    func tenantsReachOnlyTheirOwnAvatars(tenant: String?, avatar: String, allowed: Bool) throws {
        let policy = AvatarPolicy(
            everyone: .only(["shared"]), tenants: ["a": .only(["alpha"]), "b": .only(["beta"])])
        var extra: [String: String] = [:]
        extra["ZW_TENANT"] = tenant
        let outcome = run(
            .bundle, environment(path: "/" + avatar, user: "alice", extra: extra),
            settings: .success(remoteUser(tenantVariable: "ZW_TENANT", avatars: policy)))
        if allowed {
            #expect(outcome.responses == [Self.okAnswer])
            #expect(
                outcome.calls.map { $0.request.url?.absoluteString }
                    == ["https://api.zeroweight.ai/api/v1/avatars/bundle/" + avatar])
        } else {
            #expect(outcome.responses == [answer(.avatarNotAllowed)])
            #expect(outcome.calls.isEmpty)
        }
        let logged = try loggedFields(outcome)
        #expect(logged["tenant"] as? String == tenant)
        #expect(logged["subject"] as? String == "alice")
    }

    @Test func aClientHeaderCannotChooseTheTenant() {
        let policy = AvatarPolicy(everyone: .only([]), tenants: ["b": .only(["beta"])])
        let outcome = run(
            .bundle, environment(path: "/beta", user: "alice", extra: ["HTTP_ZW_TENANT": "b"]),
            settings: .success(remoteUser(tenantVariable: "ZW_TENANT", avatars: policy)))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [answer(.avatarNotAllowed)])
    }

    // MARK: Name and room binding

    private static let subjectNoRoom = TokenIdentityPolicy(name: .subject, room: .none)

    @Test(
        arguments: [
            ("avatar_id=abc&name=Mallory", subjectNoRoom, .failure(.nameNotAllowed)),
            ("avatar_id=abc&name=alicE", subjectNoRoom, .failure(.nameNotAllowed)),
            ("avatar_id=abc&name=alice", subjectNoRoom, .success("avatar_id=abc&name=alice")),
            ("avatar_id=abc", subjectNoRoom, .success("avatar_id=abc&name=alice")),
            ("avatar_id=abc&name=anonymuous", subjectNoRoom, .success("avatar_id=abc&name=anonymuous")),
            (
                "avatar_id=abc&name=anonymuous",
                TokenIdentityPolicy(name: .subject, allowAnonymous: false, room: .none), .failure(.nameNotAllowed)
            ),
            (
                "avatar_id=abc&name=Mallory", TokenIdentityPolicy(name: .subject, mismatch: .ignore, room: .none),
                .success("avatar_id=abc&name=alice")
            ),
            (
                "avatar_id=abc&name=anonymuous", TokenIdentityPolicy(name: .subject, mismatch: .ignore, room: .none),
                .success("avatar_id=abc&name=anonymuous")
            ),
            (
                "avatar_id=abc&name=Mallory", TokenIdentityPolicy(name: .query, room: .query),
                .success("avatar_id=abc&name=Mallory")
            ),
            ("avatar_id=abc&room=r1", subjectNoRoom, .failure(.roomNotAllowed)),
            (
                "avatar_id=abc", TokenIdentityPolicy(name: .subject, room: .subject),
                .success("avatar_id=abc&name=alice&room=alice")
            ),
            (
                "avatar_id=abc&room=alice", TokenIdentityPolicy(name: .subject, room: .subject),
                .success("avatar_id=abc&name=alice&room=alice")
            ),
            (
                "avatar_id=abc&room=other", TokenIdentityPolicy(name: .subject, room: .subject),
                .failure(.roomNotAllowed)
            ),
            (
                "avatar_id=abc&room=r1", TokenIdentityPolicy(name: .subject, room: .query),
                .success("avatar_id=abc&name=alice&room=r1")
            ),
            ("avatar_id=abc", TokenIdentityPolicy(name: .subject, room: .query), .success("avatar_id=abc&name=alice")),
        ] as [(String, TokenIdentityPolicy, Result<String, ProxyError>)])
    func tokenNameAndRoomAreBoundToTheRemoteUser(
        query: String, identity: TokenIdentityPolicy, expected: Result<String, ProxyError>
    ) throws {
        let outcome = run(
            .token, environment(query: query, user: "alice"), settings: .success(remoteUser(identity: identity)))
        switch expected {
        case .success(let upstreamQuery):
            #expect(outcome.calls.map { $0.request.url?.absoluteString } == [Self.tokenURL + "?" + upstreamQuery])
            #expect(outcome.responses == [Self.okTokenAnswer])
        case .failure(let error):
            #expect(outcome.calls.isEmpty)
            #expect(outcome.responses == [answer(error)])
            #expect(try loggedFields(outcome)["error"] as? String == error.code)
        }
    }

    @Test(arguments: [
        ("avatar_id=abc", ProxyError?.some(.identityNotUsable)),
        ("avatar_id=abc&name=anonymuous", nil),
    ])
    func subjectThatIsNoDisplayNameIs403UnlessAnonymous(query: String, error: ProxyError?) {
        let longUser = String(repeating: "a", count: 65)
        let outcome = run(.token, environment(query: query, user: longUser), settings: .success(remoteUser()))
        if let error {
            #expect(outcome.calls.isEmpty)
            #expect(outcome.responses == [answer(error)])
        } else {
            #expect(outcome.calls.map { $0.request.url?.absoluteString } == [Self.tokenURL + "?" + query])
            #expect(outcome.responses == [Self.okTokenAnswer])
        }
    }

    @Test func bundleRouteIgnoresTheTokenIdentityPolicy() throws {
        let strict = remoteUser(identity: TokenIdentityPolicy(name: .subject, room: .subject))
        let outcome = run(.bundle, environment(path: "/abc", user: "a user with spaces"), settings: .success(strict))
        #expect(outcome.responses == [Self.okAnswer])
        #expect(
            outcome.calls.map { $0.request.url?.absoluteString }
                == ["https://api.zeroweight.ai/api/v1/avatars/bundle/abc"])
    }

    // MARK: Good requests

    @Test func tokenRequestSendsExactlyTheExpectedCall() throws {
        let outcome = run(.token, environment(query: "avatar_id=abc&name=Alice+Smith&room=r1"))
        #expect(outcome.calls.count == 1)
        let call = try #require(outcome.calls.first)
        #expect(call.request.url?.absoluteString == Self.tokenURL + "?avatar_id=abc&name=Alice%20Smith&room=r1")
        #expect(call.request.httpMethod == "GET")
        #expect(call.request.value(forHTTPHeaderField: "X-ZW-Api-Key") == secret)
        #expect(call.request.value(forHTTPHeaderField: "Accept") == "application/json")
        #expect(call.request.value(forHTTPHeaderField: "User-Agent") == "zeroweight-proxy/0.1.0")
        #expect(call.request.value(forHTTPHeaderField: "X-Request-ID") == nil)
        #expect(call.maximumBytes == 65536)
        #expect(call.timeout == 7)
        #expect(outcome.responses == [Self.okTokenAnswer])
    }

    @Test func bundleRequestGoesToTheConfiguredBase() throws {
        let local = configuration(base: "http://127.0.0.1:8080/", timeout: 2.5, maximumBytes: 1024)
        let outcome = run(.bundle, environment(path: "/A-b_9"), settings: .success(settings(local)))
        let call = try #require(outcome.calls.first)
        #expect(outcome.calls.count == 1)
        #expect(call.request.url?.absoluteString == "http://127.0.0.1:8080/api/v1/avatars/bundle/A-b_9")
        #expect(call.request.value(forHTTPHeaderField: "X-ZW-Api-Key") == secret)
        #expect(call.maximumBytes == 1024)
        #expect(call.timeout == 2.5)
        #expect(call.request.timeoutInterval == 3)
    }

    @Test func headIsForwardedAsGetAndAnsweredWithTheBody() throws {
        let outcome = run(.bundle, environment(method: "HEAD", path: "/abc"))
        let call = try #require(outcome.calls.first)
        #expect(call.request.httpMethod == "GET")
        #expect(outcome.responses == [Self.okAnswer])
    }

    @Test func vendorSampleInjectionCannotAddParameters() throws {
        let outcome = run(.token, environment(query: "avatar_id=abc&name=Alice%26avatar_id%3Dother%26room%3Dx"))
        let call = try #require(outcome.calls.first)
        let url = try #require(call.request.url)
        #expect(url.absoluteString == Self.tokenURL + "?avatar_id=abc&name=Alice%26avatar_id%3Dother%26room%3Dx")
        let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems
        #expect(
            items == [
                URLQueryItem(name: "avatar_id", value: "abc"),
                URLQueryItem(name: "name", value: "Alice&avatar_id=other&room=x"),
            ])
    }

    @Test(
        arguments: [
            (UpstreamResult.response(UpstreamResponse(status: 404, body: Data())), ProxyError.avatarNotFound),
            (.response(UpstreamResponse(status: 200, body: Data("[]".utf8))), .upstreamInvalidResponse),
            (.response(UpstreamResponse(status: 403, body: Data())), .upstreamAuthFailed),
            (.failure(.timeout), .upstreamTimeout),
            (.failure(.tooLarge), .upstreamTooLarge),
            (.failure(.unreachable), .upstreamUnreachable),
        ] as [(UpstreamResult, ProxyError)])
    func upstreamResultIsMapped(upstream: UpstreamResult, error: ProxyError) throws {
        let outcome = run(.bundle, environment(path: "/abc"), upstream: upstream)
        #expect(outcome.calls.count == 1)
        #expect(outcome.responses == [answer(error)])
        let logged = try loggedFields(outcome)
        #expect(logged["status"] as? Int == error.status.code)
        #expect(logged["error"] as? String == error.code)
        #expect(logged["request_id"] as? String == Self.requestID)
        if case .response(let response) = upstream {
            #expect(logged["upstream_status"] as? Int == response.status)
        } else {
            #expect(logged["upstream_status"] == nil)
        }
        #expect(logged["upstream_ms"] is Double)
    }

    @Test func rateLimitPassesRetryAfter() {
        let limited = UpstreamResult.response(UpstreamResponse(status: 429, retryAfter: "30", body: Data()))
        let outcome = run(.token, environment(query: "avatar_id=abc"), upstream: limited)
        #expect(outcome.response?.status == .serviceUnavailable)
        #expect(
            outcome.response?.headers == [HTTPHeader("Retry-After", "30"), HTTPHeader("X-Request-ID", Self.requestID)])
    }

    @Test func answerFromAnotherThreadCompletesOnce() async throws {
        let transport = FakeTransport(
            answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))), later: true)
        let lines = Collector<String>()
        let handler = ProxyHandler(
            route: .bundle, settings: .success(settings()), transport: transport,
            logger: RequestLogger { lines.append($0) })
        let response = await withCheckedContinuation { continuation in
            handler.handle(environment: environment(path: "/abc")) { continuation.resume(returning: $0) }
        }
        #expect(response == Self.okAnswer)
        #expect(transport.calls.count == 1)
        #expect(lines.all.count == 1)
    }

    // MARK: Request ids

    @Test(arguments: ["bad id", "a\nb", "", String(repeating: "a", count: 65), "é"])
    func invalidIncomingRequestIDIsReplaced(incoming: String) throws {
        let outcome = run(.bundle, environment(method: "POST", path: "/abc", requestID: incoming))
        let response = try #require(outcome.response)
        #expect(response.headers.count == 2)
        let header = try #require(response.headers.last)
        #expect(header.name == "X-Request-ID")
        #expect(header.value.count == 32)
        #expect(header.value.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(response == answer(.methodNotAllowed, requestID: header.value))
        #expect(try loggedFields(outcome)["request_id"] as? String == header.value)
    }

    @Test func requestsWithoutAnIDGetDifferentFreshOnes() throws {
        let first = run(.bundle, environment(path: "/abc", requestID: nil))
        let second = run(.bundle, environment(path: "/abc", requestID: nil))
        let ids = [first, second].map { $0.response?.headers.last?.value ?? "" }
        #expect(ids.allSatisfy { $0.count == 32 })
        #expect(ids[0] != ids[1])
        #expect(try loggedFields(first)["request_id"] as? String == ids[0])
        #expect(try loggedFields(second)["request_id"] as? String == ids[1])
    }

    // MARK: Client addresses

    @Test(
        arguments: [
            ([], "198.51.100.1"),
            (["10.0.0.0/8"], "198.51.100.1"),
            (["10.0.0.0/8"], "198.51.100.1, 10.0.0.2"),
            (["10.0.0.0/8", "203.0.113.0/25"], "garbage\n{\"forged\":1}"),
        ] as [([String], String)])
    func forwardedForFromAnUntrustedPeerChangesNothing(trusted: [String], forwardedFor: String) throws {
        let outcome = run(
            .bundle,
            environment(path: "/abc", remoteAddress: "203.0.113.200", extra: ["HTTP_X_FORWARDED_FOR": forwardedFor]),
            settings: .success(settings(trustedProxies: trusted)))
        #expect(try loggedFields(outcome)["client_ip"] as? String == "203.0.113.200")
        #expect(outcome.responses == [Self.okAnswer])
    }

    @Test func forwardedForFromATrustedPeerNamesTheFirstUntrustedHop() throws {
        let outcome = run(
            .bundle,
            environment(
                path: "/abc", remoteAddress: "10.0.0.1",
                extra: ["HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.9, 10.0.0.2"]),
            settings: .success(settings(trustedProxies: ["10.0.0.0/8"])))
        #expect(try loggedFields(outcome)["client_ip"] as? String == "198.51.100.9")
    }

    // MARK: The log

    @Test func logLineHasTheAllowlistedFields() throws {
        let outcome = run(
            .token, environment(query: "avatar_id=abc&name=Alice+Secretname&room=r1", remoteAddress: "198.51.100.9"))
        let line = try #require(outcome.lines.first)
        let logged = try loggedFields(outcome)
        #expect(
            Set(logged.keys) == [
                "time", "request_id", "route", "method", "status", "duration_ms", "upstream_status", "upstream_ms",
                "avatar_id", "client_ip", "auth",
            ])
        #expect(logged["request_id"] as? String == Self.requestID)
        #expect(logged["route"] as? String == "token")
        #expect(logged["method"] as? String == "GET")
        #expect(logged["status"] as? Int == 200)
        #expect(logged["upstream_status"] as? Int == 200)
        #expect(logged["avatar_id"] as? String == "abc")
        #expect(logged["client_ip"] as? String == "198.51.100.9")
        #expect(logged["auth"] as? String == "none")
        #expect((logged["duration_ms"] as? Double ?? -1) >= 0)
        #expect(!line.contains("Secretname"))
        #expect(!line.contains("r1"))
    }

    @Test func logLineCarriesTheIdentityButNeverTheKeyOrCredentials() throws {
        let outcome = run(
            .token,
            environment(
                query: "avatar_id=abc", user: "alice@example.com",
                extra: ["ZW_TENANT": "acme", "HTTP_AUTHORIZATION": "Basic \(secret)"]),
            settings: .success(remoteUser(tenantVariable: "ZW_TENANT")))
        #expect(outcome.responses == [Self.okTokenAnswer])
        let line = try #require(outcome.lines.first)
        let logged = try loggedFields(outcome)
        #expect(
            Set(logged.keys) == [
                "time", "request_id", "route", "method", "status", "duration_ms", "upstream_status", "upstream_ms",
                "avatar_id", "client_ip", "authorization", "auth", "subject", "tenant",
            ])
        #expect(logged["request_id"] as? String == Self.requestID)
        #expect(logged["auth"] as? String == "ok")
        #expect(logged["subject"] as? String == "alice@example.com")
        #expect(logged["tenant"] as? String == "acme")
        #expect(logged["authorization"] as? Bool == true)
        #expect(!line.contains(secret))
        #expect(!line.contains(String(secret.prefix(12))))
    }

    @Test func everyRequestLogsExactlyOneLineWithoutTheKey() throws {
        let requests: [(Route, [String: String], UpstreamResult)] = [
            (
                .token, environment(query: "avatar_id=abc&name=Bob"),
                .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8)))
            ),
            (.bundle, environment(path: "/abc"), .response(UpstreamResponse(status: 401, body: Data(secret.utf8)))),
            (.bundle, environment(path: "/abc"), .failure(.timeout)),
            (.bundle, environment(method: "POST", path: "/abc"), .failure(.unreachable)),
            (.token, environment(query: "avatar_id=abc&api_key=\(secret)"), .failure(.unreachable)),
            (.bundle, environment(method: "GET\n{\"status\":200}", path: "/abc"), .failure(.unreachable)),
            (.bundle, environment(path: "/abc", remoteAddress: "1.2.3.4\n{\"forged\":1}"), .failure(.unreachable)),
            (.bundle, environment(path: "/abc", requestID: secret + "\n"), .failure(.unreachable)),
        ]
        for (route, environment, upstream) in requests {
            let outcome = run(route, environment, upstream: upstream)
            #expect(outcome.responses.count == 1)
            #expect(outcome.lines.count == 1)
            let line = try #require(outcome.lines.first)
            #expect(line.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1)
            #expect(line.hasSuffix("}\n"))
            #expect(JSONValidator().validate(Array(line.utf8)) == .object)
            #expect(!line.contains(secret))
            #expect(!line.contains(String(secret.prefix(12))))
        }
    }

    // MARK: Rate limits

    /// A handler whose limiter counts in a memory store on a clock that stands still.
    private struct LimitedHandler {
        let handler: ProxyHandler
        let transport: FakeTransport
        let lines: Collector<String>

        /// Sends one request; its answers and log lines, and how many upstream calls it made.
        func send(_ environment: [String: String]) -> (responses: [ProxyResponse], lines: [String], calls: Int) {
            let callsBefore = transport.calls.count
            let linesBefore = lines.all.count
            let responses = Collector<ProxyResponse>()
            handler.handle(environment: environment) { responses.append($0) }
            return (responses.all, Array(lines.all.dropFirst(linesBefore)), transport.calls.count - callsBefore)
        }
    }

    private func limitedHandler(
        rules: [Route: [RateLimitConfiguration.Dimension: RateLimitRule]] = [:], upstream: RateLimitRule? = nil,
        bundleCacheSeconds: Double = 0,
        answering result: UpstreamResult = .response(UpstreamResponse(status: 200, body: Data(okBody.utf8)))
    ) -> LimitedHandler {
        let transport = FakeTransport(answering: result)
        let lines = Collector<String>()
        let limiter = RateLimiter(
            configuration: RateLimitConfiguration(
                store: .memory, rules: rules, upstream: upstream, bundleCacheSeconds: bundleCacheSeconds),
            store: MemoryStore { 1_000 })
        let handler = ProxyHandler(
            route: .bundle, settings: .success(settings()), transport: transport,
            logger: RequestLogger { lines.append($0) }, rateLimiter: limiter)
        return LimitedHandler(handler: handler, transport: transport, lines: lines)
    }

    @Test func overTheBundleIPLimitIs429WithoutCallingUpstream() throws {
        let limited = limitedHandler(rules: [.bundle: [.ip: RateLimitRule(limit: 2, period: 60)]])
        let policy = HTTPHeader("RateLimit-Policy", #""ip";q=2;w=60"#)
        let requestID = HTTPHeader("X-Request-ID", Self.requestID)
        let body = Data(Self.okBody.utf8)

        let first = limited.send(environment(path: "/abc"))
        #expect(first.calls == 1)
        #expect(
            first.responses == [
                ProxyResponse(
                    status: .ok, headers: [Self.okTag, policy, HTTPHeader("RateLimit", #""ip";r=1;t=30"#), requestID],
                    body: body,
                    cacheControl: "private, no-cache")
            ])
        #expect(try fields(try #require(first.lines.first))["rate_limit"] as? String == "ok")

        let second = limited.send(environment(path: "/abc"))
        #expect(second.calls == 1)
        #expect(
            second.responses == [
                ProxyResponse(
                    status: .ok, headers: [Self.okTag, policy, HTTPHeader("RateLimit", #""ip";r=0;t=60"#), requestID],
                    body: body,
                    cacheControl: "private, no-cache")
            ])

        let third = limited.send(environment(path: "/abc"))
        #expect(third.calls == 0)
        let refused = ProxyError.rateLimited.adding(headers: [
            HTTPHeader("Retry-After", "30"), policy, HTTPHeader("RateLimit", #""ip";r=0;t=60"#),
        ])
        #expect(third.responses == [answer(refused)])
        #expect(third.responses.first?.status.code == 429)
        #expect(third.lines.count == 1)
        let line = try #require(third.lines.first)
        #expect(line.contains(#""rate_limit":"ip""#))
        let logged = try fields(line)
        #expect(logged["status"] as? Int == 429)
        #expect(logged["error"] as? String == "rate_limited")
        #expect(logged["rate_limit"] as? String == "ip")
        #expect(logged["upstream_status"] == nil)
        #expect(logged["upstream_ms"] == nil)
        // Limits are checked right after sign-in, before the request is read.
        #expect(logged["avatar_id"] == nil)

        // Another client still gets through.
        let other = limited.send(environment(path: "/abc", remoteAddress: "198.51.100.9"))
        #expect(other.calls == 1)
        #expect(other.responses.first?.status == .ok)
        #expect(limited.transport.calls.count == 3)
    }

    @Test func exhaustedUpstreamBudgetIs503WithoutCallingUpstream() throws {
        let limited = limitedHandler(upstream: RateLimitRule(limit: 2, period: 60))
        for _ in 0..<2 {
            let allowed = limited.send(environment(path: "/abc"))
            #expect(allowed.calls == 1)
            #expect(allowed.responses == [Self.okAnswer])
        }
        let refused = limited.send(environment(path: "/abc"))
        #expect(refused.calls == 0)
        #expect(
            refused.responses == [
                answer(ProxyError.upstreamBudgetExhausted.adding(headers: [HTTPHeader("Retry-After", "30")]))
            ])
        #expect(refused.responses.first?.status.code == 503)
        let logged = try fields(try #require(refused.lines.first))
        #expect(refused.lines.count == 1)
        #expect(logged["status"] as? Int == 503)
        #expect(logged["error"] as? String == "upstream_budget_exhausted")
        #expect(logged["rate_limit"] as? String == "upstream")
        #expect(logged["avatar_id"] as? String == "abc")
        #expect(logged["upstream_status"] == nil)
        #expect(limited.transport.calls.count == 2)
    }

    @Test func rejectedRequestsDoNotSpendTheUpstreamBudget() {
        let limited = limitedHandler(upstream: RateLimitRule(limit: 1, period: 60))
        let rejected = limited.send(environment(method: "POST", path: "/abc"))
        #expect(rejected.responses == [answer(.methodNotAllowed)])
        let allowed = limited.send(environment(path: "/abc"))
        #expect(allowed.calls == 1)
        #expect(allowed.responses == [Self.okAnswer])
    }

    @Test func upstream429HoldsTheBudgetSoTheNextRequestGets503WithoutACall() throws {
        let limited = limitedHandler(
            upstream: RateLimitConfiguration.defaultUpstream,
            answering: .response(UpstreamResponse(status: 429, retryAfter: "30", body: Data())))
        let first = limited.send(environment(path: "/abc"))
        #expect(first.calls == 1)
        #expect(first.responses == [answer(ProxyError.upstreamRateLimited.adding(header: "Retry-After", value: "30"))])
        let firstLogged = try fields(try #require(first.lines.first))
        #expect(firstLogged["upstream_status"] as? Int == 429)
        #expect(firstLogged["rate_limit"] as? String == "ok")

        let second = limited.send(environment(path: "/abc"))
        #expect(second.calls == 0)
        #expect(
            second.responses == [
                answer(ProxyError.upstreamBudgetExhausted.adding(headers: [HTTPHeader("Retry-After", "30")]))
            ])
        let logged = try fields(try #require(second.lines.first))
        #expect(logged["rate_limit"] as? String == "upstream")
        #expect(logged["error"] as? String == "upstream_budget_exhausted")
        #expect(limited.transport.calls.count == 1)
    }

    @Test func upstreamRemainingZeroHoldsTheBudgetForOneInterval() throws {
        let limited = limitedHandler(
            upstream: RateLimitRule(limit: 6, period: 60),
            answering: .response(UpstreamResponse(status: 200, rateLimitRemaining: "0", body: Data(Self.okBody.utf8))))
        let first = limited.send(environment(path: "/abc"))
        #expect(first.responses == [Self.okAnswer])
        let second = limited.send(environment(path: "/abc"))
        #expect(second.calls == 0)
        #expect(
            second.responses == [
                answer(ProxyError.upstreamBudgetExhausted.adding(headers: [HTTPHeader("Retry-After", "10")]))
            ])
    }

    @Test func storeFailureFailsClosedWithoutCallingUpstream() throws {
        let transport = FakeTransport(answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))))
        let lines = Collector<String>()
        let responses = Collector<ProxyResponse>()
        let limiter = RateLimiter(
            configuration: RateLimitConfiguration(store: .redis(url: "redis://127.0.0.1:1")),
            store: ReopeningStore(name: "redis", retryInterval: 60) { () throws(StoreError) -> any RateLimitStore in
                throw StoreError.unavailable("connection refused")
            })
        let handler = ProxyHandler(
            route: .bundle, settings: .success(settings()), transport: transport,
            logger: RequestLogger { lines.append($0) }, rateLimiter: limiter)
        handler.handle(environment: environment(path: "/abc")) { responses.append($0) }
        #expect(transport.calls.isEmpty)
        #expect(responses.all == [answer(.rateLimitUnavailable)])
        let logged = try fields(try #require(lines.all.first))
        #expect(lines.all.count == 1)
        #expect(logged["status"] as? Int == 503)
        #expect(logged["error"] as? String == "rate_limit_unavailable")
        #expect(logged["rate_limit"] as? String == "store_failed_closed")
        #expect(logged["detail"] as? String == "store_unavailable: connection refused")
    }

    @Test func storeFailureFailsOpenAndLogsIt() throws {
        let transport = FakeTransport(answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))))
        let lines = Collector<String>()
        let responses = Collector<ProxyResponse>()
        let limiter = RateLimiter(
            configuration: RateLimitConfiguration(store: .redis(url: "redis://127.0.0.1:1"), onStoreFailure: .open),
            store: ReopeningStore(name: "redis", retryInterval: 60) { () throws(StoreError) -> any RateLimitStore in
                throw StoreError.unavailable("connection refused")
            })
        let handler = ProxyHandler(
            route: .bundle, settings: .success(settings()), transport: transport,
            logger: RequestLogger { lines.append($0) }, rateLimiter: limiter)
        handler.handle(environment: environment(path: "/abc")) { responses.append($0) }
        #expect(transport.calls.count == 1)
        #expect(responses.all == [Self.okAnswer])
        let logged = try fields(try #require(lines.all.first))
        #expect(logged["status"] as? Int == 200)
        #expect(logged["rate_limit"] as? String == "store_failed_open")
        #expect(logged["detail"] as? String == "store_unavailable: connection refused")
    }

    // MARK: Bundle cache

    @Test func aCachedBundleIsServedWithoutCallingUpstreamAndLoggedAsAHit() throws {
        let limited = limitedHandler(bundleCacheSeconds: 60)
        let first = limited.send(environment(path: "/abc"))
        #expect(first.calls == 1)
        #expect(first.responses == [Self.okAnswer])
        let firstLogged = try fields(try #require(first.lines.first))
        #expect(firstLogged["cache"] as? String == "miss")
        #expect(firstLogged["upstream_status"] as? Int == 200)

        let second = limited.send(environment(path: "/abc"))
        #expect(second.calls == 0)
        #expect(second.responses == [Self.okAnswer])
        let logged = try fields(try #require(second.lines.first))
        #expect(logged["cache"] as? String == "hit")
        #expect(logged["status"] as? Int == 200)
        #expect(logged["upstream_status"] == nil)
        #expect(logged["upstream_ms"] == nil)

        let other = limited.send(environment(path: "/other"))
        #expect(other.calls == 1)
    }

    @Test func ifNoneMatchWithTheCurrentTagIs304WithoutABody() throws {
        let limited = limitedHandler(bundleCacheSeconds: 60)
        _ = limited.send(environment(path: "/abc"))
        let revalidated = limited.send(
            environment(path: "/abc", extra: ["HTTP_IF_NONE_MATCH": #"W/"old", "gBTyXCRkGNvoqFowjmHZ9g""#]))
        #expect(revalidated.calls == 0)
        #expect(
            revalidated.responses == [
                ProxyResponse(
                    status: .notModified, headers: [Self.okTag, HTTPHeader("X-Request-ID", Self.requestID)],
                    body: Data(), cacheControl: "private, no-cache")
            ])
        #expect(try fields(try #require(revalidated.lines.first))["status"] as? Int == 304)

        let stale = limited.send(environment(path: "/abc", extra: ["HTTP_IF_NONE_MATCH": #""old""#]))
        #expect(stale.responses == [Self.okAnswer])
    }

    @Test func withoutACacheTheTagStillAllowsA304AfterTheUpstreamCall() {
        let outcome = run(.bundle, environment(path: "/abc", extra: ["HTTP_IF_NONE_MATCH": Self.okTag.value]))
        #expect(outcome.calls.count == 1)
        #expect(outcome.response?.status == .notModified)
        #expect(outcome.response?.body == Data())
    }

    @Test func errorsAreNeverCached() throws {
        let limited = limitedHandler(
            bundleCacheSeconds: 60, answering: .response(UpstreamResponse(status: 503, body: Data("down".utf8))))
        for _ in 0..<3 {
            let sent = limited.send(environment(path: "/abc"))
            #expect(sent.calls == 1)
            #expect(sent.responses == [answer(.upstreamError)])
            #expect(try fields(try #require(sent.lines.first))["cache"] as? String == "miss")
        }
    }

    @Test func aCachedBundleStillNeedsTheTenantsPermission() throws {
        let transport = FakeTransport(answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))))
        let limiter = RateLimiter(
            configuration: RateLimitConfiguration(store: .memory, rules: [:], upstream: nil, bundleCacheSeconds: 60),
            store: MemoryStore())
        let only = remoteUser(tenantVariable: "ZW_TENANT", avatars: AvatarPolicy(tenants: ["a": .only(["abc"])]))
        let handler = ProxyHandler(
            route: .bundle, settings: .success(only), transport: transport, logger: RequestLogger { _ in },
            rateLimiter: limiter)
        let responses = Collector<ProxyResponse>()
        handler.handle(environment: environment(path: "/abc", user: "u", extra: ["ZW_TENANT": "a"])) {
            responses.append($0)
        }
        handler.handle(environment: environment(path: "/abc", user: "u", extra: ["ZW_TENANT": "b"])) {
            responses.append($0)
        }
        handler.handle(environment: environment(path: "/abc")) { responses.append($0) }
        #expect(responses.all == [Self.okAnswer, answer(.avatarNotAllowed), answer(.notAuthenticatedByServer)])
        #expect(transport.calls.count == 1)
    }

    @Test func aCacheHitSpendsNoUpstreamBudget() {
        let limited = limitedHandler(upstream: RateLimitRule(limit: 1, period: 60), bundleCacheSeconds: 60)
        for _ in 0..<5 {
            #expect(limited.send(environment(path: "/abc")).responses == [Self.okAnswer])
        }
        #expect(limited.transport.calls.count == 1)
    }

    @Test func tokensAreNeverCached() {
        let transport = FakeTransport(answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))))
        let limiter = RateLimiter(
            configuration: RateLimitConfiguration(store: .memory, rules: [:], upstream: nil, bundleCacheSeconds: 60),
            store: MemoryStore())
        let handler = ProxyHandler(
            route: .token, settings: .success(settings()), transport: transport, logger: RequestLogger { _ in },
            rateLimiter: limiter)
        #expect(handler.bundleCache == nil)
        let responses = Collector<ProxyResponse>()
        for _ in 0..<3 { handler.handle(environment: environment(query: "avatar_id=abc")) { responses.append($0) } }
        #expect(responses.all == Array(repeating: Self.okTokenAnswer, count: 3))
        #expect(transport.calls.count == 3)
    }
}
