import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct ProxyErrorTests {
    static let table: [(ProxyError, String, Int)] = [
        (.methodNotAllowed, "method_not_allowed", 405),
        (.missingMethod, "invalid_request", 400),
        (.unexpectedBody, "unexpected_body", 400),
        (.queryTooLong, "query_too_long", 414),
        (.malformedQuery, "malformed_query", 400),
        (.unknownParameter, "unknown_parameter", 400),
        (.duplicateParameter, "duplicate_parameter", 400),
        (.emptyParameter, "empty_parameter", 400),
        (.missingAvatarID, "missing_avatar_id", 400),
        (.invalidAvatarID, "invalid_avatar_id", 400),
        (.invalidPath, "invalid_path", 400),
        (.invalidName, "invalid_name", 400),
        (.invalidRoom, "invalid_room", 400),
        (.misconfigured, "proxy_misconfigured", 500),
        (.internalError, "internal_error", 500),
        (.upstreamTimeout, "upstream_timeout", 504),
        (.upstreamUnreachable, "upstream_unreachable", 502),
        (.upstreamRedirect, "upstream_redirect", 502),
        (.upstreamTooLarge, "upstream_response_too_large", 502),
        (.upstreamInvalidResponse, "upstream_invalid_response", 502),
        (.upstreamError, "upstream_error", 502),
        (.upstreamRejected, "upstream_rejected", 502),
        (.upstreamAuthFailed, "upstream_auth_failed", 502),
        (.avatarNotFound, "avatar_not_found", 404),
        (.upstreamRateLimited, "upstream_rate_limited", 503),
    ]

    @Test(arguments: table)
    func codeAndStatus(error: ProxyError, code: String, status: Int) {
        #expect(error.code == code)
        #expect(error.status.code == status)
        #expect(error.description == "\(status) \(code): \(error.message)")
    }

    @Test(arguments: table)
    func bodyIsAJSONObjectWithCodeAndMessage(error: ProxyError, code: String, status: Int) {
        let body = ProxyResponse(error: error).body
        #expect(JSONValidator().validate(body) == .object)
        let expected =
            #"{"error":{"code":"# + JSONText.quoted(code) + #","message":"# + JSONText.quoted(error.message) + "}}"
        #expect(body == Data(expected.utf8))
    }

    @Test func codesAreUnique() {
        #expect(Set(Self.table.map(\.1)).count == Self.table.count)
    }

    @Test func onlyMethodNotAllowedCarriesAHeader() {
        for (error, _, _) in Self.table where error != .methodNotAllowed {
            #expect(error.headers.isEmpty, "\(error.code)")
        }
    }

    @Test func addingAHeaderKeepsTheRest() {
        let error = ProxyError.upstreamRateLimited.adding(header: "Retry-After", value: "5")
        #expect(error.code == "upstream_rate_limited")
        #expect(error.status == .serviceUnavailable)
        #expect(error.message == ProxyError.upstreamRateLimited.message)
        #expect(error.headers == [HTTPHeader("Retry-After", "5")])
        #expect(error != .upstreamRateLimited)
        #expect(ProxyError.upstreamRateLimited.headers.isEmpty)
    }
}
