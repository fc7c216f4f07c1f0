/// The outcome of one rate-limit check.
public struct RateLimitDecision: Sendable, Hashable {
    public let allowed: Bool
    /// Requests still allowed at once after this one.
    public let remaining: Int
    /// Seconds until a request would be allowed again (0 when this one was).
    public let retryAfter: Double
    /// Seconds until the allowance is full again.
    public let resetAfter: Double

    public init(allowed: Bool, remaining: Int, retryAfter: Double, resetAfter: Double) {
        self.allowed = allowed
        self.remaining = remaining
        self.retryAfter = retryAfter
        self.resetAfter = resetAfter
    }
}
