import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct ProxyResponseTests {
    @Test func okHead() {
        let response = ProxyResponse(status: .ok, body: Data(#"{"payload":"x"}"#.utf8))
        #expect(
            response.cgiHead()
                == "Status: 200 OK\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: 15\r\n"
                + "X-Content-Type-Options: nosniff\r\n"
                + "Cache-Control: no-store\r\n"
                + "\r\n")
        #expect(response.errorCode == nil)
        #expect(response.headers.isEmpty)
    }

    @Test func methodNotAllowedHeadAndBody() {
        let response = ProxyResponse(error: .methodNotAllowed)
        #expect(
            response.cgiHead()
                == "Status: 405 Method Not Allowed\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: 96\r\n"
                + "X-Content-Type-Options: nosniff\r\n"
                + "Cache-Control: no-store\r\n"
                + "Allow: GET, HEAD\r\n"
                + "\r\n")
        #expect(
            response.body
                == Data(
                    #"{"error":{"code":"method_not_allowed","message":"Only GET and HEAD are allowed on this route."}}"#
                        .utf8))
        #expect(response.status == .methodNotAllowed)
        #expect(response.errorCode == "method_not_allowed")
    }

    @Test func rateLimitedHeadCarriesRetryAfter() {
        let error = ProxyError.upstreamRateLimited.adding(header: "Retry-After", value: "60")
        #expect(
            ProxyResponse(error: error).cgiHead()
                == "Status: 503 Service Unavailable\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: 103\r\n"
                + "X-Content-Type-Options: nosniff\r\n"
                + "Cache-Control: no-store\r\n"
                + "Retry-After: 60\r\n"
                + "\r\n")
    }

    @Test func headIsCRLFWithStatusFirstAndOneBlankLine() {
        let head = ProxyResponse(error: .invalidAvatarID).cgiHead()
        #expect(head.hasPrefix("Status: 400 Bad Request\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
        let lines = Array(head.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.dropLast().allSatisfy { $0.last == UInt8(ascii: "\r") })
        #expect(head.components(separatedBy: "\r\n\r\n").count == 2)
        #expect(!head.contains("HTTP/"))
    }

    @Test func errorBodyIsExact() {
        #expect(
            ProxyResponse(error: .invalidAvatarID).body
                == Data(
                    (#"{"error":{"code":"invalid_avatar_id","#
                        + #""message":"The avatar id must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -."}}"#).utf8))
        #expect(
            ProxyResponse(error: .upstreamAuthFailed).body
                == Data(
                    #"{"error":{"code":"upstream_auth_failed","message":"ZeroWeight refused the proxy's API key."}}"#
                        .utf8))
    }

    @Test func errorBodyWithRequestID() {
        #expect(
            ProxyResponse(error: .avatarNotFound, requestID: "r-1\"x").body
                == Data(
                    (#"{"error":{"code":"avatar_not_found","message":"ZeroWeight has no such avatar for this key.","#
                        + #""request_id":"r-1\"x"}}"#).utf8))
    }

    @Test func errorAnswerTakesStatusHeadersAndCode() {
        let error = ProxyError.upstreamRateLimited.adding(header: "Retry-After", value: "7")
        let response = ProxyResponse(error: error)
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers == [HTTPHeader("Retry-After", "7")])
        #expect(response.errorCode == "upstream_rate_limited")
    }

    @Test func contentLengthCountsBytes() {
        let body = Data("{\"name\":\"Zoë 👋\"}".utf8)
        #expect(ProxyResponse(status: .ok, body: body).cgiHead().contains("Content-Length: 20\r\n"))
        #expect(ProxyResponse(status: .ok, body: Data()).cgiHead().contains("Content-Length: 0\r\n"))
    }
}
