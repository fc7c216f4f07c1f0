import Foundation

/// A complete answer of the proxy: status, extra headers and a JSON body.
///
/// Every answer is JSON and carries the same hardening headers; `cgiHead(contentLength:)` writes them.
public struct ProxyResponse: Sendable, Hashable {
    public var status: HTTPStatus
    /// Headers beyond the ones every answer carries.
    public var headers: [HTTPHeader]
    /// The JSON body (sent for GET, left out for HEAD).
    public var body: Data
    /// The error code when this answer is an error, for the log.
    public var errorCode: String?
    /// `Cache-Control`: `no-store` for everything but bundles, which browsers may keep and revalidate.
    public var cacheControl: String

    public init(
        status: HTTPStatus, headers: [HTTPHeader] = [], body: Data, errorCode: String? = nil,
        cacheControl: String = "no-store"
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.errorCode = errorCode
        self.cacheControl = cacheControl
    }

    /// The JSON error answer for `error`: `{"error": {"code": …, "message": …}}`.
    public init(error: ProxyError, requestID: String? = nil) {
        var body = #"{"error":{"code":"#
        body += JSONText.quoted(error.code)
        body += #","message":"#
        body += JSONText.quoted(error.message)
        if let requestID {
            body += #","request_id":"#
            body += JSONText.quoted(requestID)
        }
        body += "}}"
        self.init(status: error.status, headers: error.headers, body: Data(body.utf8), errorCode: error.code)
    }

    /// The CGI header block: `Status:`, the fixed headers, the extra ones, then the blank line.
    ///
    /// nginx ignores an `HTTP/1.1 …` line from a CGI or FastCGI program; only `Status:` sets the status.
    /// A 304 has no body and describes the stored one, so it carries no `Content-Type` or `Content-Length`.
    public func cgiHead() -> String {
        var head = "Status: \(status.code) \(status.reason)\r\n"
        if status != .notModified {
            head += "Content-Type: application/json\r\n"
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "X-Content-Type-Options: nosniff\r\n"
        head += "Cache-Control: \(cacheControl)\r\n"
        for header in headers {
            head += "\(header.name): \(header.value)\r\n"
        }
        head += "\r\n"
        return head
    }
}
