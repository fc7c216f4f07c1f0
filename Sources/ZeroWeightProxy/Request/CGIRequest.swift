/// The parts of a CGI request (RFC 3875) the handlers use, read from the environment or FastCGI params.
///
/// Pure: built from a plain dictionary, so it is the same for CGI, FastCGI and tests.
public struct CGIRequest: Sendable, Hashable {
    /// `REQUEST_METHOD`, case-sensitive as RFC 3875 says; nil when the variable is missing.
    public var method: String?
    /// `PATH_INFO`, already percent-decoded by the web server; empty when unset.
    public var pathInfo: String
    /// `QUERY_STRING`, still percent-encoded; empty when unset.
    public var queryString: String
    /// `CONTENT_LENGTH` as sent; nil or empty for requests without a body.
    public var contentLength: String?
    /// `REMOTE_ADDR`, the direct peer of the web server.
    public var remoteAddress: String
    /// Whether the client sent an `Authorization` header (`HTTP_AUTHORIZATION`; Apache passes it only
    /// with `CGIPassAuth On`). The value itself is never kept here.
    public var hasAuthorization: Bool

    public init(environment: [String: String]) {
        method = environment["REQUEST_METHOD"]
        pathInfo = environment["PATH_INFO"] ?? ""
        queryString = environment["QUERY_STRING"] ?? ""
        contentLength = environment["CONTENT_LENGTH"]
        remoteAddress = environment["REMOTE_ADDR"] ?? ""
        hasAuthorization = !(environment["HTTP_AUTHORIZATION"] ?? "").isEmpty
    }

    /// Whether only headers are to be sent back.
    public var isHead: Bool { method == "HEAD" }

    /// Whether the request declares a body (`CONTENT_LENGTH` present and not zero).
    var hasBody: Bool {
        guard let contentLength, !contentLength.isEmpty else { return false }
        return contentLength.utf8.contains(where: { $0 != UInt8(ascii: "0") })
    }
}
