/// A limit: `limit` requests per `period` seconds, with bursts of up to `burst` at once.
public struct RateLimitRule: Sendable, Hashable, CustomStringConvertible {
    public let limit: Int
    public let period: Double
    public let burst: Int

    /// - Precondition: `limit` and `burst` at least 1, `period` positive (programmer errors; the
    ///   config parser validates operators' values).
    public init(limit: Int, period: Double, burst: Int? = nil) {
        precondition(limit >= 1 && period > 0 && (burst ?? limit) >= 1)
        self.limit = limit
        self.period = period
        self.burst = burst ?? limit
    }

    /// The GCRA emission interval T: one request's share of the period.
    public var emissionInterval: Double { period / Double(limit) }
    /// The GCRA tolerance plus one interval: how far ahead of now the theoretical arrival time may be.
    public var capacity: Double { emissionInterval * Double(burst) }

    public var description: String { "\(limit)/\(period)s burst \(burst)" }
}
