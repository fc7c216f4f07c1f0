import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct RequestLogEntryTests {
    private let time = Date(timeIntervalSince1970: 1_700_000_000.5)

    @Test func fullEntryIsOneExactLine() {
        let entry = RequestLogEntry(
            time: time, route: .token, method: "GET", status: 200, durationMilliseconds: 12.3456, upstreamStatus: 200,
            upstreamMilliseconds: 10, avatarID: AvatarID("abc"), clientAddress: "203.0.113.7")
        #expect(
            entry.jsonLine()
                == #"{"time":"2023-11-14T22:13:20.500Z","route":"token","method":"GET","status":200,"#
                + #""duration_ms":12.346,"upstream_status":200,"upstream_ms":10.0,"avatar_id":"abc","#
                + #""client_ip":"203.0.113.7"}"# + "\n")
    }

    @Test func errorEntryLeavesOutWhatIsAbsent() {
        let entry = RequestLogEntry(
            time: time, route: .bundle, method: "POST", status: 405, errorCode: "method_not_allowed",
            durationMilliseconds: 0, clientAddress: "", detail: "ZEROWEIGHT_API_KEY: is not set")
        #expect(
            entry.jsonLine()
                == #"{"time":"2023-11-14T22:13:20.500Z","route":"bundle","method":"POST","status":405,"#
                + #""error":"method_not_allowed","duration_ms":0.0,"client_ip":"","#
                + #""detail":"ZEROWEIGHT_API_KEY: is not set"}"# + "\n")
    }

    @Test func hostileFieldsStayOnOneLineAndAreTruncated() {
        let entry = RequestLogEntry(
            time: time, route: .token, method: "GET\n{\"status\":200}" + String(repeating: "X", count: 100),
            status: 400,
            durationMilliseconds: 1, clientAddress: "1.2.3.4\r\n\u{1B}[2J" + String(repeating: "9", count: 100),
            detail: "a\u{2028}b\"c")
        let line = entry.jsonLine()
        #expect(line.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        #expect(line.hasSuffix("}\n"))
        #expect(JSONValidator().validate(Array(line.utf8.dropLast())) == .object)
        #expect(line.contains(#""method":"GET\n{\"status\":20","#))
        #expect(line.contains(#""client_ip":"1.2.3.4\r\n\u001b[2J"# + String(repeating: "9", count: 52) + "\""))
        #expect(line.contains(#""detail":"a\u2028b\"c""#))
    }

    @Test func identityFieldsFollowInTheirPlaces() {
        var entry = RequestLogEntry(
            time: time, route: .token, method: "GET", status: 403, errorCode: "avatar_not_allowed",
            durationMilliseconds: 1.5, avatarID: AvatarID("abc"), clientAddress: "2001:db8::1")
        entry.requestID = "req-1"
        entry.hasAuthorization = true
        entry.auth = "ok"
        entry.subject = "alice@example.com"
        entry.tenant = "acme"
        #expect(
            entry.jsonLine()
                == #"{"time":"2023-11-14T22:13:20.500Z","request_id":"req-1","route":"token","method":"GET","#
                + #""status":403,"error":"avatar_not_allowed","duration_ms":1.5,"avatar_id":"abc","#
                + #""client_ip":"2001:db8::1","authorization":true,"auth":"ok","subject":"alice@example.com","#
                + #""tenant":"acme"}"# + "\n")
    }

    @Test func failedAuthenticationLogsItsReason() {
        var entry = RequestLogEntry(
            time: time, route: .bundle, method: "GET", status: 401, errorCode: "authentication_required",
            durationMilliseconds: 0, clientAddress: "203.0.113.7")
        entry.requestID = "0123456789abcdef0123456789abcdef"
        entry.auth = "invalid"
        entry.authDetail = "bad_remote_user"
        #expect(
            entry.jsonLine()
                == #"{"time":"2023-11-14T22:13:20.500Z","request_id":"0123456789abcdef0123456789abcdef","#
                + #""route":"bundle","method":"GET","status":401,"error":"authentication_required","#
                + #""duration_ms":0.0,"client_ip":"203.0.113.7","auth":"invalid","auth_detail":"bad_remote_user"}"#
                + "\n")
    }

    @Test func hostileIdentitiesStayOnOneLineAndAreTruncated() {
        var entry = RequestLogEntry(
            time: time, route: .token, method: "GET", status: 200, durationMilliseconds: 1, clientAddress: "::1")
        entry.subject = "a\n{\"forged\":1}" + String(repeating: "s", count: 300)
        entry.tenant = "t\u{2028}\"" + String(repeating: "t", count: 300)
        let line = entry.jsonLine()
        #expect(line.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        #expect(JSONValidator().validate(Array(line.utf8.dropLast())) == .object)
        #expect(line.contains(#""subject":"a\n{\"forged\":1}"# + String(repeating: "s", count: 242) + #"","#))
        #expect(line.contains(#""tenant":"t\u2028\""# + String(repeating: "t", count: 253) + #""}"#))
    }

    @Test(arguments: [
        (0, "0.0"), (1, "1.0"), (12, "12.0"), (0.0004, "0.0"), (0.0005, "0.001"), (1.23456, "1.235"),
        (1234.5678, "1234.568"), (60_000, "60000.0"),
    ])
    func millisecondsKeepThreeDecimals(value: Double, text: String) {
        #expect(RequestLogEntry.milliseconds(value) == text)
    }

    @Test func timestampIsUTCWithMilliseconds() {
        #expect(RequestLogEntry.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RequestLogEntry.timestamp(time) == "2023-11-14T22:13:20.500Z")
    }
}
