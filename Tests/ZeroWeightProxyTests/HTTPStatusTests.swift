import Testing

@testable import ZeroWeightProxy

@Suite struct HTTPStatusTests {
    @Test(arguments: [
        (HTTPStatus.ok, 200, "OK"),
        (.notModified, 304, "Not Modified"),
        (.badRequest, 400, "Bad Request"),
        (.notFound, 404, "Not Found"),
        (.methodNotAllowed, 405, "Method Not Allowed"),
        (.uriTooLong, 414, "URI Too Long"),
        (.internalServerError, 500, "Internal Server Error"),
        (.badGateway, 502, "Bad Gateway"),
        (.serviceUnavailable, 503, "Service Unavailable"),
        (.gatewayTimeout, 504, "Gateway Timeout"),
    ])
    func namedStatuses(status: HTTPStatus, code: Int, reason: String) {
        #expect(status.code == code)
        #expect(status.reason == reason)
    }

    @Test func codeBelow100IsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPStatus(code: 99, reason: "Nope") }
    }

    @Test func codeAbove599IsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPStatus(code: 600, reason: "Nope") }
    }
}
