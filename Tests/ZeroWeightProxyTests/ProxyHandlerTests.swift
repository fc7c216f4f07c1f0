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

    private let key = APIKey(secret)!

    private func configuration(
        base: String = "https://api.zeroweight.ai", timeout: Double = 7, maximumBytes: Int = 65536
    ) -> ProxyConfiguration {
        ProxyConfiguration(
            apiKey: key, apiBase: APIBase(validating: base)!, timeout: timeout, maximumResponseBytes: maximumBytes)
    }

    private func environment(
        method: String? = "GET", path: String? = nil, query: String = "", contentLength: String? = nil,
        remoteAddress: String = "203.0.113.7"
    ) -> [String: String] {
        var environment = ["QUERY_STRING": query, "REMOTE_ADDR": remoteAddress]
        environment["REQUEST_METHOD"] = method
        environment["PATH_INFO"] = path
        environment["CONTENT_LENGTH"] = contentLength
        return environment
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
        configuration: Result<ProxyConfiguration, ConfigurationError>? = nil,
        upstream: UpstreamResult = .response(UpstreamResponse(status: 200, body: Data(okBody.utf8)))
    ) -> Outcome {
        let transport = FakeTransport(answering: upstream)
        let lines = Collector<String>()
        let responses = Collector<ProxyResponse>()
        let handler = ProxyHandler(
            route: route, configuration: configuration ?? .success(self.configuration()), transport: transport,
            logger: RequestLogger { lines.append($0) })
        handler.handle(environment: environment) { responses.append($0) }
        return Outcome(responses: responses.all, calls: transport.calls, lines: lines.all)
    }

    private func fields(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
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
        let outcome = run(route, environment)
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [ProxyResponse(error: error)])
        #expect(outcome.lines.count == 1)
        let logged = try fields(try #require(outcome.lines.first))
        #expect(logged["status"] as? Int == error.status.code)
        #expect(logged["error"] as? String == error.code)
        #expect(logged["upstream_status"] == nil)
        #expect(logged["upstream_ms"] == nil)
        #expect(logged["avatar_id"] == nil)
    }

    @Test func rejectedRequestWinsOverMisconfiguration() {
        let missingKey = ConfigurationError(setting: "ZEROWEIGHT_API_KEY", problem: "is not set")
        let outcome = run(.bundle, environment(method: "POST", path: "/abc"), configuration: .failure(missingKey))
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [ProxyResponse(error: .methodNotAllowed)])
    }

    @Test(arguments: Route.allCases)
    func misconfiguredHandlerAnswers500WithoutCallingUpstream(route: Route) throws {
        let problem = Result { () throws(ConfigurationError) in try ProxyConfiguration.load(environment: [:]) }
        let request = route == .bundle ? environment(path: "/abc") : environment(query: "avatar_id=abc")
        let outcome = run(route, request, configuration: problem)
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [ProxyResponse(error: .misconfigured)])
        let response = try #require(outcome.response)
        #expect(response.status.code == 500)
        #expect(
            response.body
                == Data(
                    (#"{"error":{"code":"proxy_misconfigured","#
                        + #""message":"The proxy is not configured correctly; see its log."}}"#).utf8))
        #expect(outcome.lines.count == 1)
        let logged = try fields(try #require(outcome.lines.first))
        #expect(logged["error"] as? String == "proxy_misconfigured")
        #expect(logged["detail"] as? String == "ZEROWEIGHT_API_KEY: is not set; set it or ZEROWEIGHT_API_KEY_FILE")
        #expect(logged["avatar_id"] as? String == "abc")
    }

    @Test func misconfigurationDetailNeverCarriesTheKey() throws {
        let problem = Result { () throws(ConfigurationError) in
            try ProxyConfiguration.load(environment: [
                "ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_BASE": "http://\(secret).example",
            ])
        }
        let outcome = run(.bundle, environment(path: "/abc"), configuration: problem)
        #expect(outcome.calls.isEmpty)
        #expect(outcome.responses == [ProxyResponse(error: .misconfigured)])
        #expect(outcome.lines.count == 1)
        #expect(!outcome.lines.joined().contains(secret))
        #expect(outcome.lines.joined().contains(#""detail":"ZEROWEIGHT_API_BASE: "#))
    }

    // MARK: Good requests

    @Test func tokenRequestSendsExactlyTheExpectedCall() throws {
        let outcome = run(.token, environment(query: "avatar_id=abc&name=Alice+Smith&room=r1"))
        #expect(outcome.calls.count == 1)
        let call = try #require(outcome.calls.first)
        #expect(
            call.request.url?.absoluteString
                == "https://api.zeroweight.ai/api/v1/livekit/getToken?avatar_id=abc&name=Alice%20Smith&room=r1")
        #expect(call.request.httpMethod == "GET")
        #expect(call.request.value(forHTTPHeaderField: "X-ZW-Api-Key") == secret)
        #expect(call.request.value(forHTTPHeaderField: "Accept") == "application/json")
        #expect(call.request.value(forHTTPHeaderField: "User-Agent") == "zeroweight-proxy/0.1.0")
        #expect(call.maximumBytes == 65536)
        #expect(call.timeout == 7)
        #expect(outcome.responses == [ProxyResponse(status: .ok, body: Data(Self.okBody.utf8))])
    }

    @Test func bundleRequestGoesToTheConfiguredBase() throws {
        let local = configuration(base: "http://127.0.0.1:8080/", timeout: 2.5, maximumBytes: 1024)
        let outcome = run(.bundle, environment(path: "/A-b_9"), configuration: .success(local))
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
        #expect(outcome.responses == [ProxyResponse(status: .ok, body: Data(Self.okBody.utf8))])
    }

    @Test func vendorSampleInjectionCannotAddParameters() throws {
        let outcome = run(.token, environment(query: "avatar_id=abc&name=Alice%26avatar_id%3Dother%26room%3Dx"))
        let call = try #require(outcome.calls.first)
        let url = try #require(call.request.url)
        #expect(
            url.absoluteString
                == "https://api.zeroweight.ai/api/v1/livekit/getToken"
                + "?avatar_id=abc&name=Alice%26avatar_id%3Dother%26room%3Dx")
        let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems
        #expect(
            items == [
                URLQueryItem(name: "avatar_id", value: "abc"),
                URLQueryItem(name: "name", value: "Alice&avatar_id=other&room=x"),
            ])
    }

    @Test(arguments: [
        (UpstreamResult.response(UpstreamResponse(status: 404, body: Data())), ProxyResponse(error: .avatarNotFound)),
        (
            .response(UpstreamResponse(status: 200, body: Data("[]".utf8))),
            ProxyResponse(error: .upstreamInvalidResponse)
        ),
        (.response(UpstreamResponse(status: 403, body: Data())), ProxyResponse(error: .upstreamAuthFailed)),
        (.failure(.timeout), ProxyResponse(error: .upstreamTimeout)),
        (.failure(.tooLarge), ProxyResponse(error: .upstreamTooLarge)),
        (.failure(.unreachable), ProxyResponse(error: .upstreamUnreachable)),
    ])
    func upstreamResultIsMapped(upstream: UpstreamResult, expected: ProxyResponse) throws {
        let outcome = run(.bundle, environment(path: "/abc"), upstream: upstream)
        #expect(outcome.calls.count == 1)
        #expect(outcome.responses == [expected])
        let logged = try fields(try #require(outcome.lines.first))
        #expect(logged["status"] as? Int == expected.status.code)
        #expect(logged["error"] as? String == expected.errorCode)
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
        #expect(outcome.response?.headers == [HTTPHeader("Retry-After", "30")])
    }

    @Test func answerFromAnotherThreadCompletesOnce() async throws {
        let transport = FakeTransport(
            answering: .response(UpstreamResponse(status: 200, body: Data(Self.okBody.utf8))), later: true)
        let lines = Collector<String>()
        let handler = ProxyHandler(
            route: .bundle, configuration: .success(configuration()), transport: transport,
            logger: RequestLogger { lines.append($0) })
        let response = await withCheckedContinuation { continuation in
            handler.handle(environment: environment(path: "/abc")) { continuation.resume(returning: $0) }
        }
        #expect(response == ProxyResponse(status: .ok, body: Data(Self.okBody.utf8)))
        #expect(transport.calls.count == 1)
        #expect(lines.all.count == 1)
    }

    // MARK: The log

    @Test func logLineHasTheAllowlistedFields() throws {
        let outcome = run(
            .token, environment(query: "avatar_id=abc&name=Alice+Secretname&room=r1", remoteAddress: "198.51.100.9"))
        #expect(outcome.lines.count == 1)
        let line = try #require(outcome.lines.first)
        let logged = try fields(line)
        #expect(
            Set(logged.keys) == [
                "time", "route", "method", "status", "duration_ms", "upstream_status", "upstream_ms", "avatar_id",
                "client_ip",
            ])
        #expect(logged["route"] as? String == "token")
        #expect(logged["method"] as? String == "GET")
        #expect(logged["status"] as? Int == 200)
        #expect(logged["upstream_status"] as? Int == 200)
        #expect(logged["avatar_id"] as? String == "abc")
        #expect(logged["client_ip"] as? String == "198.51.100.9")
        #expect((logged["duration_ms"] as? Double ?? -1) >= 0)
        #expect(!line.contains("Secretname"))
        #expect(!line.contains("r1"))
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
}
