import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct UpstreamResponseMapperTests {
    private func map(_ status: Int, _ body: String = "", retryAfter: String? = nil) -> ProxyResponse {
        UpstreamResponseMapper.map(
            .response(UpstreamResponse(status: status, retryAfter: retryAfter, body: Data(body.utf8))))
    }

    @Test(arguments: [
        #"{}"#,
        #"{"payload":"ZW5jcnlwdGVk"}"#,
        #"{"token":"eyJ.x.y","url":"wss://lk.example"}"#,
        " {\"a\": [1, 2, {\"b\": null}]}\r\n",
    ])
    func okObjectPassesThroughByteForByte(body: String) {
        let answer = map(200, body)
        #expect(answer.status == .ok)
        #expect(answer.body == Data(body.utf8))
        #expect(answer.headers.isEmpty)
        #expect(answer.errorCode == nil)
    }

    @Test(arguments: [200, 201, 202, 204, 299])
    func any2xxObjectIsAnswered200(status: Int) {
        #expect(map(status, #"{"a":1}"#) == ProxyResponse(status: .ok, body: Data(#"{"a":1}"#.utf8)))
    }

    @Test(arguments: [
        "", " ", "[]", #"[{"a":1}]"#, #""text""#, "42", "true", "null", "<html><body>502</body></html>", #"{"a":"#,
        #"{"a":1"#, #"{"a":1}x"#, #"{"a":1}{"b":2}"#, #"{'a':1}"#, "\u{FEFF}{}",
        String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65),
    ])
    func okWithoutAJSONObjectIs502(body: String) {
        #expect(map(200, body) == ProxyResponse(error: .upstreamInvalidResponse))
        #expect(map(200, body).status.code == 502)
        #expect(map(200, body).errorCode == "upstream_invalid_response")
    }

    @Test(arguments: [300, 301, 302, 303, 304, 307, 308, 399])
    func redirectIs502(status: Int) {
        let answer = map(status, #"{"a":1}"#)
        #expect(answer == ProxyResponse(error: .upstreamRedirect))
        #expect(answer.status.code == 502)
        #expect(answer.errorCode == "upstream_redirect")
    }

    @Test(arguments: [401, 403])
    func authFailureIs502(status: Int) {
        let answer = map(status, #"{"detail":"Invalid API key"}"#)
        #expect(answer == ProxyResponse(error: .upstreamAuthFailed))
        #expect(answer.status.code == 502)
        #expect(answer.errorCode == "upstream_auth_failed")
    }

    @Test func notFoundIs404() {
        let answer = map(404, #"{"detail":"Not found"}"#)
        #expect(answer == ProxyResponse(error: .avatarNotFound))
        #expect(answer.status == .notFound)
        #expect(answer.errorCode == "avatar_not_found")
    }

    @Test(
        arguments: [
            ("120", "120"),
            (" 120 ", "120"),
            ("0", "0"),
            ("007", "7"),
            ("86400", "86400"),
            ("86401", "86400"),
            ("999999999", "86400"),
            ("1234567890", "86400"),
            ("99999999999999999999999", "86400"),
            (nil, "60"),
            ("", "60"),
            ("   ", "60"),
            ("abc", "60"),
            ("-5", "60"),
            ("+5", "60"),
            ("1.5", "60"),
            ("1e3", "60"),
            ("12 34", "60"),
            ("٣", "60"),
            ("Wed, 21 Oct 2015 07:28:00 GMT", "60"),
        ] as [(String?, String)])
    func rateLimitIs503WithRetryAfter(retryAfter: String?, expected: String) {
        let answer = map(429, #"{"detail":"Too many requests"}"#, retryAfter: retryAfter)
        #expect(answer.status == .serviceUnavailable)
        #expect(answer.errorCode == "upstream_rate_limited")
        #expect(answer.headers == [HTTPHeader("Retry-After", expected)])
        #expect(answer.body == ProxyResponse(error: .upstreamRateLimited).body)
        #expect(UpstreamResponseMapper.retryAfterSeconds(retryAfter) == expected)
    }

    @Test(arguments: [400, 402, 405, 406, 409, 410, 413, 418, 422, 451, 499])
    func otherClientErrorIs502Rejected(status: Int) {
        let answer = map(status, #"{"detail":"bad"}"#)
        #expect(answer == ProxyResponse(error: .upstreamRejected))
        #expect(answer.status.code == 502)
        #expect(answer.errorCode == "upstream_rejected")
    }

    @Test(arguments: [500, 501, 502, 503, 504, 599])
    func serverErrorIs502(status: Int) {
        let answer = map(status, "<html>upstream stack trace</html>")
        #expect(answer == ProxyResponse(error: .upstreamError))
        #expect(answer.status.code == 502)
        #expect(answer.errorCode == "upstream_error")
    }

    @Test(arguments: [100, 101, 199, 600, 0])
    func statusOutsideTheTableIs502(status: Int) {
        #expect(map(status, "{}") == ProxyResponse(error: .upstreamError))
    }

    @Test(arguments: [
        (UpstreamFailure.timeout, 504, "upstream_timeout"),
        (.tooLarge, 502, "upstream_response_too_large"),
        (.unreachable, 502, "upstream_unreachable"),
    ])
    func failures(failure: UpstreamFailure, status: Int, code: String) {
        let answer = UpstreamResponseMapper.map(.failure(failure))
        #expect(answer.status.code == status)
        #expect(answer.errorCode == code)
        #expect(answer.headers.isEmpty)
        #expect(JSONValidator().validate(answer.body) == .object)
    }

    @Test func errorAnswersNeverCarryTheUpstreamBody() {
        for status in [302, 400, 401, 404, 429, 500] {
            let answer = map(status, "SECRET-UPSTREAM-DETAIL")
            #expect(!String(decoding: answer.body, as: UTF8.self).contains("SECRET-UPSTREAM-DETAIL"))
        }
    }

    @Test func usesTheGivenValidator() {
        let shallow = JSONValidator(maximumDepth: 1)
        let body = Data(#"{"a":{"b":1}}"#.utf8)
        let result = UpstreamResult.response(UpstreamResponse(status: 200, body: body))
        #expect(
            UpstreamResponseMapper.map(result, validator: shallow) == ProxyResponse(error: .upstreamInvalidResponse))
        #expect(UpstreamResponseMapper.map(result) == ProxyResponse(status: .ok, body: body))
    }

    @Test(
        arguments: [
            (UpstreamResult.response(UpstreamResponse(status: 404, body: Data())), ProxyError.avatarNotFound),
            (.response(UpstreamResponse(status: 200, body: Data("[]".utf8))), .upstreamInvalidResponse),
            (.failure(.timeout), .upstreamTimeout),
        ] as [(UpstreamResult, ProxyError)])
    func errorAnswersCarryTheRequestID(result: UpstreamResult, error: ProxyError) {
        #expect(
            UpstreamResponseMapper.map(result, requestID: "req-9") == ProxyResponse(error: error, requestID: "req-9"))
    }

    @Test func aGoodAnswerIsPassedThroughWithoutTheRequestID() {
        let body = Data(#"{"a":1}"#.utf8)
        let result = UpstreamResult.response(UpstreamResponse(status: 200, body: body))
        #expect(UpstreamResponseMapper.map(result, requestID: "req-9") == ProxyResponse(status: .ok, body: body))
    }

    @Test func theRateLimitKeepsRetryAfterWithTheRequestID() {
        let result = UpstreamResult.response(UpstreamResponse(status: 429, retryAfter: "5", body: Data()))
        let answer = UpstreamResponseMapper.map(result, requestID: "req-9")
        #expect(answer.headers == [HTTPHeader("Retry-After", "5")])
        #expect(answer.body == ProxyResponse(error: .upstreamRateLimited, requestID: "req-9").body)
    }
}
