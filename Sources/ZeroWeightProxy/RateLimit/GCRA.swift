/// The generic cell rate algorithm: one "theoretical arrival time" (TAT) per key.
///
/// Pure arithmetic, shared by every store: the memory and SQLite stores run it inside their lock or
/// transaction; the Redis store runs the same steps in Lua (kept equal by shared test vectors).
public enum GCRA {
    /// Applies a request of `cost` at `now` to a key whose stored TAT is `storedTAT` (nil: new key).
    ///
    /// - Returns: the decision, and the TAT to store (nil when the request is refused: nothing changes).
    public static func decide(
        storedTAT: Double?, now: Double, rule: RateLimitRule, cost: Int = 1
    ) -> (decision: RateLimitDecision, newTAT: Double?) {
        let interval = rule.emissionInterval
        // Sums of intervals carry floating-point error (0.1 s is inexact; epoch seconds have coarse
        // steps), so within a thousandth of an interval of a whole one counts as whole.
        let slack = interval / 1000
        let tat = max(storedTAT ?? now, now)
        let newTAT = tat + interval * Double(cost)
        let allowAt = newTAT - rule.capacity
        if allowAt - now > slack {
            let remaining = max(0, Int(((rule.capacity - (tat - now) + slack) / interval).rounded(.down)))
            return (
                RateLimitDecision(
                    allowed: false, remaining: remaining, retryAfter: allowAt - now, resetAfter: tat - now),
                nil
            )
        }
        let remaining = max(0, Int(((rule.capacity - (newTAT - now) + slack) / interval).rounded(.down)))
        return (RateLimitDecision(allowed: true, remaining: remaining, retryAfter: 0, resetAfter: newTAT - now), newTAT)
    }
}
