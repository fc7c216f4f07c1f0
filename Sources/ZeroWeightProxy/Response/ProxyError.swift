/// An error the proxy answers with: an HTTP status, a stable machine code and one sentence.
///
/// Callers match on the static values (`ProxyError.invalidAvatarID`); the set can grow without
/// breaking them. The message never contains request data or secrets, so it is safe to show to
/// the browser and to log.
public struct ProxyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable snake_case code sent as `error.code`.
    public let code: String
    /// The HTTP status of the answer.
    public let status: HTTPStatus
    /// One sentence for people, sent as `error.message`.
    public let message: String
    /// Extra response headers this error carries (`Allow`, `Retry-After`).
    public private(set) var headers: [HTTPHeader] = []

    init(_ code: String, _ status: HTTPStatus, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// A copy of this error carrying more response headers.
    func adding(headers: [HTTPHeader]) -> ProxyError {
        var copy = self
        copy.headers.append(contentsOf: headers)
        return copy
    }

    /// A copy of this error carrying one more response header.
    func adding(header name: String, value: String) -> ProxyError {
        var copy = self
        copy.headers.append(HTTPHeader(name, value))
        return copy
    }
}

extension ProxyError {
    // MARK: The request
    public static let methodNotAllowed = ProxyError(
        "method_not_allowed", .methodNotAllowed, "Only GET and HEAD are allowed on this route."
    ).adding(header: "Allow", value: "GET, HEAD")
    public static let missingMethod = ProxyError(
        "invalid_request", .badRequest, "The request has no method; run this program through a web server.")
    public static let unexpectedBody = ProxyError(
        "unexpected_body", .badRequest, "This route takes no request body.")
    public static let queryTooLong = ProxyError(
        "query_too_long", .uriTooLong, "The query string is too long.")
    public static let malformedQuery = ProxyError(
        "malformed_query", .badRequest, "The query string is not valid percent-encoded UTF-8.")
    public static let unknownParameter = ProxyError(
        "unknown_parameter", .badRequest, "The query string has a parameter this route does not take.")
    public static let duplicateParameter = ProxyError(
        "duplicate_parameter", .badRequest, "A query parameter is given more than once.")
    public static let emptyParameter = ProxyError(
        "empty_parameter", .badRequest, "A query parameter is present but empty.")
    public static let missingAvatarID = ProxyError(
        "missing_avatar_id", .badRequest, "The avatar id is missing.")
    public static let invalidAvatarID = ProxyError(
        "invalid_avatar_id", .badRequest, "The avatar id must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -.")
    public static let invalidPath = ProxyError(
        "invalid_path", .badRequest, "The path must be exactly one avatar id after the route.")
    public static let invalidName = ProxyError(
        "invalid_name", .badRequest,
        "The name must be 1 to 64 printable characters, not blank and without control characters.")
    public static let invalidRoom = ProxyError(
        "invalid_room", .badRequest, "The room must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -.")

    // MARK: Authentication and policy
    static let bearerChallenge = #"Bearer realm="zeroweight-proxy""#
    public static let authenticationRequired = ProxyError(
        "authentication_required", .unauthorized, "This route needs you to sign in."
    ).adding(header: "WWW-Authenticate", value: bearerChallenge)
    /// For `remote-user` mode: the web server's own authentication should have run and did not.
    public static let notAuthenticatedByServer = ProxyError(
        "authentication_required", .unauthorized, "This route needs you to sign in.")
    public static let invalidToken = ProxyError(
        "invalid_token", .unauthorized, "The credentials are not valid."
    ).adding(header: "WWW-Authenticate", value: bearerChallenge + #", error="invalid_token""#)
    public static let avatarNotAllowed = ProxyError(
        "avatar_not_allowed", .forbidden, "You may not use this avatar.")
    public static let nameNotAllowed = ProxyError(
        "name_not_allowed", .forbidden, "The name must be the one of your account.")
    public static let roomNotAllowed = ProxyError(
        "room_not_allowed", .forbidden, "You may not choose this room.")
    public static let identityNotUsable = ProxyError(
        "identity_not_usable", .forbidden, "Your account's identity cannot be used as a participant name.")

    // MARK: Rate limits
    public static let rateLimited = ProxyError(
        "rate_limited", HTTPStatus(code: 429, reason: "Too Many Requests"), "Too many requests; retry later.")
    public static let upstreamBudgetExhausted = ProxyError(
        "upstream_budget_exhausted", .serviceUnavailable,
        "The site's share of ZeroWeight's rate limit is used up; retry later.")
    public static let rateLimitUnavailable = ProxyError(
        "rate_limit_unavailable", .serviceUnavailable, "The proxy cannot check its rate limits right now; retry later.")

    // MARK: The proxy
    public static let misconfigured = ProxyError(
        "proxy_misconfigured", .internalServerError, "The proxy is not configured correctly; see its log.")
    public static let internalError = ProxyError(
        "internal_error", .internalServerError, "The proxy failed unexpectedly; see its log.")

    // MARK: The upstream
    public static let upstreamTimeout = ProxyError(
        "upstream_timeout", .gatewayTimeout, "ZeroWeight did not answer in time.")
    public static let upstreamUnreachable = ProxyError(
        "upstream_unreachable", .badGateway, "ZeroWeight could not be reached.")
    public static let upstreamRedirect = ProxyError(
        "upstream_redirect", .badGateway, "ZeroWeight answered with a redirect, which the proxy does not follow.")
    public static let upstreamTooLarge = ProxyError(
        "upstream_response_too_large", .badGateway, "ZeroWeight's answer is larger than the proxy accepts.")
    public static let upstreamInvalidResponse = ProxyError(
        "upstream_invalid_response", .badGateway, "ZeroWeight's answer is not a JSON object.")
    public static let upstreamError = ProxyError(
        "upstream_error", .badGateway, "ZeroWeight failed to answer the request.")
    public static let upstreamRejected = ProxyError(
        "upstream_rejected", .badGateway, "ZeroWeight rejected the request.")
    public static let upstreamAuthFailed = ProxyError(
        "upstream_auth_failed", .badGateway, "ZeroWeight refused the proxy's API key.")
    public static let avatarNotFound = ProxyError(
        "avatar_not_found", .notFound, "ZeroWeight has no such avatar for this key.")
    public static let upstreamRateLimited = ProxyError(
        "upstream_rate_limited", .serviceUnavailable, "ZeroWeight's rate limit is reached; retry later.")
}
