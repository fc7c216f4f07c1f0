import Foundation

/// What came back from one upstream exchange, before it is mapped to an answer.
public enum UpstreamResult: Sendable, Hashable {
    /// A complete HTTP answer within the size limit.
    case response(UpstreamResponse)
    /// No usable answer.
    case failure(UpstreamFailure)
}

/// A complete upstream HTTP answer.
public struct UpstreamResponse: Sendable, Hashable {
    public var status: Int
    /// The upstream `Retry-After`, if any (unvalidated).
    public var retryAfter: String?
    /// The upstream `X-RateLimit-Remaining`, if any (unvalidated).
    public var rateLimitRemaining: String?
    public var body: Data

    public init(status: Int, retryAfter: String? = nil, rateLimitRemaining: String? = nil, body: Data) {
        self.status = status
        self.retryAfter = retryAfter
        self.rateLimitRemaining = rateLimitRemaining
        self.body = body
    }
}

/// Why an upstream exchange gave no usable answer.
public enum UpstreamFailure: Sendable, Hashable {
    /// The whole-request deadline passed.
    case timeout
    /// The body (or its declared length) went past the limit.
    case tooLarge
    /// Connection refused, reset, DNS or TLS failure.
    case unreachable
}
