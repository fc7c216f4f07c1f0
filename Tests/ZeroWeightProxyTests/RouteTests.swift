import Testing

@testable import ZeroWeightProxy

@Suite struct RouteTests {
    /// A CGI environment; nil leaves the variable out.
    private func environment(
        method: String? = "GET", path: String? = nil, query: String? = nil, contentLength: String? = nil
    ) -> [String: String] {
        var environment = ["REMOTE_ADDR": "203.0.113.7"]
        environment["REQUEST_METHOD"] = method
        environment["PATH_INFO"] = path
        environment["QUERY_STRING"] = query
        environment["CONTENT_LENGTH"] = contentLength
        return environment
    }

    private func parse(_ route: Route, _ environment: [String: String]) -> Result<RouteRequest, ProxyError> {
        Result { () throws(ProxyError) in try route.parse(CGIRequest(environment: environment)) }
    }

    private func bundle(path: String?) -> Result<RouteRequest, ProxyError> {
        parse(.bundle, environment(path: path, query: ""))
    }

    private func token(query: String?) -> Result<RouteRequest, ProxyError> {
        parse(.token, environment(query: query))
    }

    /// A request that passes validation, apart from what the test changes.
    private func validEnvironment(
        for route: Route, method: String? = "GET", contentLength: String? = nil
    ) -> [String: String] {
        switch route {
        case .bundle: environment(method: method, path: "/abc", query: "", contentLength: contentLength)
        case .token: environment(method: method, query: "avatar_id=abc", contentLength: contentLength)
        }
    }

    private func expected(_ route: Route) -> RouteRequest {
        switch route {
        case .bundle: .bundle(avatarID: AvatarID("abc")!)
        case .token: .token(avatarID: AvatarID("abc")!, name: nil, room: nil)
        }
    }

    private func tokenRequest(_ id: String, name: String? = nil, room: String? = nil) -> RouteRequest {
        .token(avatarID: AvatarID(id)!, name: name.map { DisplayName($0)! }, room: room.map { RoomName($0)! })
    }

    // MARK: Both routes

    @Test(arguments: ["/", "/x", "/abc/def"])
    func tokenRefusesAnyPathInfo(path: String) {
        let result = parse(.token, environment(path: path, query: "avatar_id=abc"))
        #expect(result == .failure(.invalidPath))
    }

    @Test func rawValuesNameTheExecutables() {
        #expect(Route.allCases == [.bundle, .token])
        #expect(Route.bundle.rawValue == "bundle")
        #expect(Route.token.rawValue == "token")
    }

    @Test(arguments: Route.allCases, ["GET", "HEAD"])
    func acceptsGetAndHead(route: Route, method: String) {
        #expect(parse(route, validEnvironment(for: route, method: method)) == .success(expected(route)))
    }

    @Test(
        arguments: Route.allCases,
        [
            "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "get", "head", "Get", "GET ", " GET", "",
            "GET\n", "GETX",
        ])
    func refusesOtherMethodsWith405(route: Route, method: String) {
        #expect(parse(route, validEnvironment(for: route, method: method)) == .failure(.methodNotAllowed))
    }

    @Test func methodNotAllowedCarriesAllow() {
        let error = ProxyError.methodNotAllowed
        #expect(error.status == HTTPStatus(code: 405, reason: "Method Not Allowed"))
        #expect(error.code == "method_not_allowed")
        #expect(error.headers == [HTTPHeader("Allow", "GET, HEAD")])
        #expect(ProxyResponse(error: error).headers == [HTTPHeader("Allow", "GET, HEAD")])
    }

    @Test(arguments: Route.allCases)
    func missingMethodIsInvalidRequest(route: Route) {
        #expect(parse(route, validEnvironment(for: route, method: nil)) == .failure(.missingMethod))
        #expect(ProxyError.missingMethod.code == "invalid_request")
        #expect(ProxyError.missingMethod.status.code == 400)
        #expect(ProxyError.missingMethod.headers.isEmpty)
    }

    @Test(arguments: Route.allCases, ["1", "10", "0001", "4096", "abc", " ", "-1", "0 "])
    func refusesADeclaredBody(route: Route, contentLength: String) {
        #expect(
            parse(route, validEnvironment(for: route, contentLength: contentLength)) == .failure(.unexpectedBody))
    }

    @Test(arguments: Route.allCases, [nil, "", "0", "000"] as [String?])
    func acceptsNoBody(route: Route, contentLength: String?) {
        #expect(parse(route, validEnvironment(for: route, contentLength: contentLength)) == .success(expected(route)))
    }

    @Test func checksMethodThenBodyThenInputs() {
        let everythingWrong = environment(method: "POST", path: "/a/b", query: "x=%", contentLength: "5")
        #expect(parse(.bundle, everythingWrong) == .failure(.methodNotAllowed))
        #expect(parse(.token, everythingWrong) == .failure(.methodNotAllowed))
        let bodyAndBadInputs = environment(path: "/a/b", query: "x=%", contentLength: "5")
        #expect(parse(.bundle, bodyAndBadInputs) == .failure(.unexpectedBody))
        #expect(parse(.token, bodyAndBadInputs) == .failure(.unexpectedBody))
    }

    // MARK: Bundle

    @Test(
        arguments: [
            (nil, .failure(.missingAvatarID)),
            ("", .failure(.missingAvatarID)),
            ("/", .failure(.missingAvatarID)),
            ("/abc", .success(.bundle(avatarID: AvatarID("abc")!))),
            ("/A-Z_a-z_0-9", .success(.bundle(avatarID: AvatarID("A-Z_a-z_0-9")!))),
            ("/abc/", .failure(.invalidPath)),
            ("/a/b", .failure(.invalidPath)),
            ("//abc", .failure(.invalidPath)),
            ("abc", .failure(.invalidPath)),
            ("../x", .failure(.invalidPath)),
            ("/../x", .failure(.invalidPath)),
            ("/../../livekit/getToken", .failure(.invalidPath)),
            ("\\abc", .failure(.invalidPath)),
            (" /abc", .failure(.invalidPath)),
            ("/..", .failure(.invalidAvatarID)),
            ("/.", .failure(.invalidAvatarID)),
            ("/a%2Fb", .failure(.invalidAvatarID)),
            ("/a%2fb", .failure(.invalidAvatarID)),
            ("/a b", .failure(.invalidAvatarID)),
            ("/a+b", .failure(.invalidAvatarID)),
            ("/a.json", .failure(.invalidAvatarID)),
            ("/abc?x=1", .failure(.invalidAvatarID)),
            ("/abc#x", .failure(.invalidAvatarID)),
            ("/abc\n", .failure(.invalidAvatarID)),
            ("/abc\u{0}", .failure(.invalidAvatarID)),
            ("/é", .failure(.invalidAvatarID)),
            ("/ａｂｃ", .failure(.invalidAvatarID)),
            (
                "/" + String(repeating: "a", count: 128),
                .success(.bundle(avatarID: AvatarID(String(repeating: "a", count: 128))!))
            ),
            ("/" + String(repeating: "a", count: 129), .failure(.invalidAvatarID)),
        ] as [(String?, Result<RouteRequest, ProxyError>)])
    func bundleTakesExactlyOneIDFromPathInfo(path: String?, expected: Result<RouteRequest, ProxyError>) {
        #expect(bundle(path: path) == expected)
    }

    @Test(
        arguments: [
            (nil, .success(.bundle(avatarID: AvatarID("abc")!))),
            ("", .success(.bundle(avatarID: AvatarID("abc")!))),
            ("&", .success(.bundle(avatarID: AvatarID("abc")!))),
            ("&&", .success(.bundle(avatarID: AvatarID("abc")!))),
            ("x=1", .failure(.unknownParameter)),
            ("avatar_id=other", .failure(.unknownParameter)),
            ("x", .failure(.unknownParameter)),
            ("%", .failure(.malformedQuery)),
            (String(repeating: "&", count: 4097), .failure(.queryTooLong)),
        ] as [(String?, Result<RouteRequest, ProxyError>)])
    func bundleTakesNoQueryParameters(query: String?, expected: Result<RouteRequest, ProxyError>) {
        #expect(parse(.bundle, environment(path: "/abc", query: query)) == expected)
    }

    @Test func bundleChecksTheQueryBeforeThePath() {
        #expect(parse(.bundle, environment(path: "/a/b", query: "x=1")) == .failure(.unknownParameter))
    }

    // MARK: Token

    @Test(
        arguments: [
            ("avatar_id=abc", .success(.token(avatarID: AvatarID("abc")!, name: nil, room: nil))),
            (
                "avatar_id=abc&name=Alice&room=r1",
                .success(.token(avatarID: AvatarID("abc")!, name: DisplayName("Alice"), room: RoomName("r1")))
            ),
            (
                "room=r1&name=Alice&avatar_id=abc",
                .success(.token(avatarID: AvatarID("abc")!, name: DisplayName("Alice"), room: RoomName("r1")))
            ),
            (nil, .failure(.missingAvatarID)),
            ("", .failure(.missingAvatarID)),
            ("name=Alice", .failure(.missingAvatarID)),
            ("name=%E2%80%AE", .failure(.missingAvatarID)),
            ("avatar_id=", .failure(.emptyParameter)),
            ("avatar_id", .failure(.emptyParameter)),
            ("avatar_id=a%2Fb", .failure(.invalidAvatarID)),
            ("avatar_id=..%2F..%2Flivekit%2FgetToken", .failure(.invalidAvatarID)),
            ("avatar_id=a+b", .failure(.invalidAvatarID)),
            ("avatar_id=%C3%A9", .failure(.invalidAvatarID)),
            ("avatar_id=" + String(repeating: "a", count: 129), .failure(.invalidAvatarID)),
            ("avatar_id=a%2F&name=%00&room=%20", .failure(.invalidAvatarID)),
            ("avatar_id=abc&name=%00&room=%20", .failure(.invalidName)),
            ("avatar_id=abc&avatar_id=def", .failure(.duplicateParameter)),
            ("avatar_id=abc&api_key=k", .failure(.unknownParameter)),
            ("avatar_id=abc&Name=Bob", .failure(.unknownParameter)),
            ("avatar_id=%GG", .failure(.malformedQuery)),
            ("avatar_id=abc&name=" + String(repeating: "a", count: 4080), .failure(.queryTooLong)),
        ] as [(String?, Result<RouteRequest, ProxyError>)])
    func tokenValidatesItsQuery(query: String?, expected: Result<RouteRequest, ProxyError>) {
        #expect(token(query: query) == expected)
    }

    @Test(arguments: [
        "%E2%80%AE",
        "Alice%E2%80%AEevil",
        "%E2%80%AD",
        "%E2%81%A6",
        "%E2%80%8B",
        "Al%E2%80%8Bice",
        "%E2%80%8D",
        "%EF%BB%BF",
        "%00",
        "Alice%00",
        "%0A",
        "Alice%0Aadmin",
        "%0D",
        "%09",
        "%1B%5B31mred",
        "%7F",
        "%C2%85",
        "%E2%80%A8",
        "%E2%80%A9",
        "+",
        "+++",
        "%20%20",
        "%C2%A0",
        "%E3%80%80",
        "%EF%BF%BD",
        "%EF%BF%BE",
        "%EF%B7%90",
        "%F3%A0%80%81",
        "%CD%B8",
        String(repeating: "a", count: 65),
        String(repeating: "%C3%A9", count: 65),
    ])
    func tokenRefusesHostileNames(encodedName: String) {
        #expect(token(query: "avatar_id=abc&name=" + encodedName) == .failure(.invalidName))
    }

    @Test(arguments: [
        ("anonymuous", "anonymuous"),
        ("Alice", "Alice"),
        ("Alice+Smith", "Alice Smith"),
        ("Alice%20Smith", "Alice Smith"),
        ("+Bob+", " Bob "),
        ("O%27Brien", "O'Brien"),
        ("Zo%C3%AB", "Zoë"),
        ("%F0%9F%91%8B", "👋"),
        ("%F0%9F%91%8B%F0%9F%8F%BD", "👋🏽"),
        ("%E2%9D%A4%EF%B8%8F", "❤️"),
        ("%E5%BC%A0%E4%BC%9F", "张伟"),
        ("%D8%B9%D9%84%D9%8A", "علي"),
        (String(repeating: "a", count: 64), String(repeating: "a", count: 64)),
        (String(repeating: "%C3%A9", count: 64), String(repeating: "é", count: 64)),
    ])
    func tokenAcceptsPrintableNames(encodedName: String, name: String) {
        #expect(token(query: "avatar_id=abc&name=" + encodedName) == .success(tokenRequest("abc", name: name)))
    }

    @Test(arguments: [
        ("r", "r"),
        ("room-1_A", "room-1_A"),
        ("room%2D1", "room-1"),
        (String(repeating: "r", count: 128), String(repeating: "r", count: 128)),
    ])
    func tokenAcceptsTokenRooms(encodedRoom: String, room: String) {
        #expect(token(query: "avatar_id=abc&room=" + encodedRoom) == .success(tokenRequest("abc", room: room)))
    }

    @Test(arguments: [
        "a+b", "a%20b", "a%2Fb", "..", "a.b", "%C3%A9", "%00", "r%0A", "%E2%80%AE", String(repeating: "r", count: 129),
    ])
    func tokenRefusesOtherRooms(encodedRoom: String) {
        #expect(token(query: "avatar_id=abc&room=" + encodedRoom) == .failure(.invalidRoom))
    }

    @Test func tokenRefusesAnEmptyRoom() {
        #expect(token(query: "avatar_id=abc&room=") == .failure(.emptyParameter))
    }

    @Test func vendorSampleInjectionStaysOneName() {
        #expect(
            token(query: "avatar_id=abc&name=Alice%26avatar_id%3Dother")
                == .success(tokenRequest("abc", name: "Alice&avatar_id=other")))
        #expect(
            token(query: "avatar_id=abc&name=Alice%26room%3Dx") == .success(tokenRequest("abc", name: "Alice&room=x")))
    }

    @Test func unencodedInjectionIsADuplicate() {
        #expect(token(query: "avatar_id=abc&name=Alice&avatar_id=other") == .failure(.duplicateParameter))
    }

    @Test func routeRequestExposesTheAvatarID() {
        #expect(RouteRequest.bundle(avatarID: AvatarID("b1")!).avatarID == AvatarID("b1"))
        #expect(tokenRequest("t1", name: "N", room: "r").avatarID == AvatarID("t1"))
    }
}
