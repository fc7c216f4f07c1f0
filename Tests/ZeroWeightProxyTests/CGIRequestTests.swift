import Testing

@testable import ZeroWeightProxy

@Suite struct CGIRequestTests {
    @Test func readsTheVariables() {
        let request = CGIRequest(environment: [
            "REQUEST_METHOD": "GET", "PATH_INFO": "/abc", "QUERY_STRING": "a=1", "CONTENT_LENGTH": "0",
            "REMOTE_ADDR": "203.0.113.7", "HTTP_X_ZW_API_KEY": "client-sent",
        ])
        #expect(request.method == "GET")
        #expect(request.pathInfo == "/abc")
        #expect(request.queryString == "a=1")
        #expect(request.contentLength == "0")
        #expect(request.remoteAddress == "203.0.113.7")
    }

    @Test func missingVariablesDefault() {
        let request = CGIRequest(environment: [:])
        #expect(request.method == nil)
        #expect(request.pathInfo == "")
        #expect(request.queryString == "")
        #expect(request.contentLength == nil)
        #expect(request.remoteAddress == "")
        #expect(!request.isHead)
        #expect(!request.hasBody)
    }

    @Test(arguments: [("HEAD", true), ("GET", false), ("head", false), ("HEAD ", false)])
    func isHeadIsCaseSensitive(method: String, isHead: Bool) {
        #expect(CGIRequest(environment: ["REQUEST_METHOD": method]).isHead == isHead)
    }

    @Test(
        arguments: [
            (nil, false), ("", false), ("0", false), ("00", false), ("1", true), ("10", true), ("0001", true),
            ("abc", true), (" ", true), ("-1", true),
        ] as [(String?, Bool)])
    func hasBodyUnlessLengthIsAbsentOrZero(contentLength: String?, hasBody: Bool) {
        var environment: [String: String] = [:]
        environment["CONTENT_LENGTH"] = contentLength
        #expect(CGIRequest(environment: environment).hasBody == hasBody)
    }
}
