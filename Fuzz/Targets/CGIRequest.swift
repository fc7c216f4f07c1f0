// Fuzzes the whole CGI request parse: CGIRequest from an environment, then Route.parse for both routes.
// Input: `KEY=VALUE` entries separated by NUL bytes, like FastCGI params (an entry without `=` is dropped).

@testable import ZeroWeightProxy

private let routeErrors: [ProxyError] = [
    .missingMethod, .methodNotAllowed, .unexpectedBody, .invalidPath, .missingAvatarID, .invalidAvatarID,
    .invalidName, .invalidRoom, .queryTooLong, .malformedQuery, .unknownParameter, .duplicateParameter,
    .emptyParameter,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCGIRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let environment = Fuzz.environment(Fuzz.bytes(data, size))
    let request = CGIRequest(environment: environment)
    Fuzz.require(request.method == environment["REQUEST_METHOD"], "method not taken as given")
    Fuzz.require(request.pathInfo == environment["PATH_INFO"] ?? "", "PATH_INFO not taken as given")
    Fuzz.require(request.hasAuthorization == !(environment["HTTP_AUTHORIZATION"] ?? "").isEmpty, "authorization flag")
    let declaresBody = (request.contentLength ?? "").utf8.contains { $0 != UInt8(ascii: "0") }
    Fuzz.require(request.hasBody == declaresBody, "hasBody for CONTENT_LENGTH \(request.contentLength ?? "nil")")
    for route in Route.allCases { check(route, request) }

    let incoming = environment["HTTP_X_REQUEST_ID"]
    let requestID = RequestID(incoming: incoming)
    Fuzz.require(RequestID.isValid(requestID.rawValue), "request id \(requestID.rawValue.debugDescription)")
    if let incoming, RequestID.isValid(incoming) {
        Fuzz.require(requestID.rawValue == incoming, "a valid X-Request-ID was replaced")
    }
    return 0
}

/// A parsed request holds only validated values that came from the right variables.
private func check(_ route: Route, _ request: CGIRequest) {
    let parsed: RouteRequest
    do throws(ProxyError) {
        parsed = try route.parse(request)
    } catch {
        Fuzz.require(routeErrors.contains(error), "\(route): undocumented error \(error)")
        if request.method == nil { Fuzz.require(error == .missingMethod, "\(route): \(error) before the method") }
        if route == .bundle, error == .invalidAvatarID {
            let slashes = request.pathInfo.utf8.filter { $0 == UInt8(ascii: "/") }.count
            Fuzz.require(slashes == 1, "a path of \(slashes) segments was read as one bad id")
        }
        return
    }
    Fuzz.require(request.method == "GET" || request.method == "HEAD", "\(route) accepted \(request.method ?? "nil")")
    Fuzz.require(!request.hasBody, "\(route) accepted a body")
    Fuzz.require(AvatarID.isToken(parsed.avatarID.rawValue), "invalid avatar id accepted")
    switch (route, parsed) {
    case (.bundle, .bundle(let id)):
        Fuzz.require(request.pathInfo.utf8.elementsEqual(("/" + id.rawValue).utf8), "bundle id not the whole path")
        Fuzz.require(request.queryString.utf8.allSatisfy { $0 == UInt8(ascii: "&") }, "bundle accepted a query")
    case (.token, .token(let id, let name, let room)):
        Fuzz.require(request.pathInfo.isEmpty, "token accepted PATH_INFO")
        let query = try? QueryParameters(parsing: request.queryString, allowed: ["avatar_id", "name", "room"])
        Fuzz.require(query?["avatar_id"] == id.rawValue, "avatar id not from the query")
        Fuzz.require(query?["name"] == name?.rawValue, "name not from the query")
        Fuzz.require(query?["room"] == room?.rawValue, "room not from the query")
    default:
        Fuzz.fail("\(route) returned \(parsed)")
    }
}
