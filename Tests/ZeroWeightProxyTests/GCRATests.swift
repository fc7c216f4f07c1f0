import Testing

@testable import ZeroWeightProxy

/// The generic cell rate algorithm's arithmetic, step by step.
@Suite struct GCRATests {
    /// One step of a table: the request's time and what it must be answered.
    private struct Step: Sendable, CustomStringConvertible {
        let now: Double
        let allowed: Bool
        let remaining: Int
        let retryAfter: Double
        let resetAfter: Double

        var description: String { "t=\(now) allowed=\(allowed) r=\(remaining)" }
    }

    private static func allowed(at now: Double, remaining: Int, resetAfter: Double) -> Step {
        Step(now: now, allowed: true, remaining: remaining, retryAfter: 0, resetAfter: resetAfter)
    }

    private static func refused(at now: Double, remaining: Int, retryAfter: Double, resetAfter: Double) -> Step {
        Step(now: now, allowed: false, remaining: remaining, retryAfter: retryAfter, resetAfter: resetAfter)
    }

    /// Runs `steps` against one key from `storedTAT`, checking each decision and that a refusal keeps the TAT.
    private func play(
        _ steps: [Step], rule: RateLimitRule, cost: Int = 1, from storedTAT: Double? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Double? {
        var tat = storedTAT
        for (index, step) in steps.enumerated() {
            let (decision, newTAT) = GCRA.decide(storedTAT: tat, now: step.now, rule: rule, cost: cost)
            #expect(
                decision
                    == RateLimitDecision(
                        allowed: step.allowed, remaining: step.remaining, retryAfter: step.retryAfter,
                        resetAfter: step.resetAfter),
                "step \(index + 1): \(step)", sourceLocation: sourceLocation)
            if step.allowed {
                #expect(newTAT == step.now + step.resetAfter, "step \(index + 1)", sourceLocation: sourceLocation)
                tat = newTAT
            } else {
                #expect(newTAT == nil, "step \(index + 1)", sourceLocation: sourceLocation)
            }
        }
        return tat
    }

    @Test func ruleDerivesIntervalAndCapacity() {
        let rule = RateLimitRule(limit: 5, period: 60)
        #expect(rule.burst == 5)
        #expect(rule.emissionInterval == 12)
        #expect(rule.capacity == 60)
        #expect(rule.description == "5/60.0s burst 5")
        let bursty = RateLimitRule(limit: 60, period: 60, burst: 20)
        #expect(bursty.emissionInterval == 1)
        #expect(bursty.capacity == 20)
    }

    @Test func fivePerMinuteAllowsFiveAtOnceThenOneEveryTwelveSeconds() {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        let tat = play(
            [
                Self.allowed(at: 0, remaining: 4, resetAfter: 12),
                Self.allowed(at: 0, remaining: 3, resetAfter: 24),
                Self.allowed(at: 0, remaining: 2, resetAfter: 36),
                Self.allowed(at: 0, remaining: 1, resetAfter: 48),
                Self.allowed(at: 0, remaining: 0, resetAfter: 60),
                Self.refused(at: 0, remaining: 0, retryAfter: 12, resetAfter: 60),
                Self.refused(at: 11, remaining: 0, retryAfter: 1, resetAfter: 49),
                Self.allowed(at: 12, remaining: 0, resetAfter: 60),
                Self.refused(at: 12, remaining: 0, retryAfter: 12, resetAfter: 60),
                // Half a minute of quiet gives back two and a half requests: two whole ones.
                Self.allowed(at: 54, remaining: 2, resetAfter: 30),
            ], rule: rule)
        #expect(tat == 84)
    }

    @Test func burstSmallerThanTheLimitCapsRequestsAtOnce() {
        // 60 a minute is one a second, but never more than three at once.
        let rule = RateLimitRule(limit: 60, period: 60, burst: 3)
        _ = play(
            [
                Self.allowed(at: 100, remaining: 2, resetAfter: 1),
                Self.allowed(at: 100, remaining: 1, resetAfter: 2),
                Self.allowed(at: 100, remaining: 0, resetAfter: 3),
                Self.refused(at: 100, remaining: 0, retryAfter: 1, resetAfter: 3),
                Self.refused(at: 100.5, remaining: 0, retryAfter: 0.5, resetAfter: 2.5),
                Self.allowed(at: 101, remaining: 0, resetAfter: 3),
                Self.allowed(at: 102, remaining: 0, resetAfter: 3),
                Self.refused(at: 102, remaining: 0, retryAfter: 1, resetAfter: 3),
                Self.allowed(at: 200, remaining: 2, resetAfter: 1),
            ], rule: rule)
    }

    @Test func burstLargerThanTheLimitAllowsTheWholeBurstAtOnce() {
        let rule = RateLimitRule(limit: 2, period: 60, burst: 4)
        _ = play(
            [
                Self.allowed(at: 0, remaining: 3, resetAfter: 30),
                Self.allowed(at: 0, remaining: 2, resetAfter: 60),
                Self.allowed(at: 0, remaining: 1, resetAfter: 90),
                Self.allowed(at: 0, remaining: 0, resetAfter: 120),
                Self.refused(at: 0, remaining: 0, retryAfter: 30, resetAfter: 120),
                Self.allowed(at: 30, remaining: 0, resetAfter: 120),
            ], rule: rule)
    }

    @Test func costAboveOneSpendsSeveralIntervals() {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        let tat = play(
            [
                Self.allowed(at: 0, remaining: 2, resetAfter: 36),
                Self.refused(at: 0, remaining: 2, retryAfter: 12, resetAfter: 36),
                Self.allowed(at: 12, remaining: 0, resetAfter: 60),
            ], rule: rule, cost: 3)
        #expect(tat == 72)
        let (decision, newTAT) = GCRA.decide(storedTAT: 36, now: 0, rule: rule, cost: 2)
        #expect(decision == RateLimitDecision(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 60))
        #expect(newTAT == 60)
    }

    @Test func costAboveTheBurstIsNeverAllowed() {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        let (decision, newTAT) = GCRA.decide(storedTAT: nil, now: 0, rule: rule, cost: 6)
        #expect(decision == RateLimitDecision(allowed: false, remaining: 5, retryAfter: 12, resetAfter: 0))
        #expect(newTAT == nil)
    }

    @Test(arguments: [nil, 0, 99, 100] as [Double?])
    func storedTATInThePastBehavesAsANewKey(storedTAT: Double?) {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        let (decision, newTAT) = GCRA.decide(storedTAT: storedTAT, now: 100, rule: rule)
        #expect(decision == RateLimitDecision(allowed: true, remaining: 4, retryAfter: 0, resetAfter: 12))
        #expect(newTAT == 112)
    }

    @Test func storedTATInTheFutureCountsWhatIsAlreadySpent() {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        let (decision, newTAT) = GCRA.decide(storedTAT: 124, now: 100, rule: rule)
        #expect(decision == RateLimitDecision(allowed: true, remaining: 2, retryAfter: 0, resetAfter: 36))
        #expect(newTAT == 136)
    }

    @Test func refusedRequestsChangeNothing() {
        let rule = RateLimitRule(limit: 5, period: 60, burst: 5)
        for _ in 0..<3 {
            let (decision, newTAT) = GCRA.decide(storedTAT: 60, now: 0, rule: rule)
            #expect(decision == RateLimitDecision(allowed: false, remaining: 0, retryAfter: 12, resetAfter: 60))
            #expect(newTAT == nil)
        }
        // Refusals did not push the allowance back: at 12 s the next request passes.
        let (decision, newTAT) = GCRA.decide(storedTAT: 60, now: 12, rule: rule)
        #expect(decision == RateLimitDecision(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 60))
        #expect(newTAT == 72)
    }

    /// Intervals such as 0.1 s are inexact in binary; summing them must not lose a request of the burst
    /// or skip a number in `remaining`.
    @Test(
        arguments: [
            (RateLimitRule(limit: 10, period: 1, burst: 20), 0.0),
            (RateLimitRule(limit: 10, period: 1, burst: 10), 0.0),
            (RateLimitRule(limit: 1200, period: 60, burst: 200), 0.0),
            (RateLimitRule(limit: 600, period: 60, burst: 100), 0.0),
            (RateLimitRule(limit: 7, period: 3, burst: 13), 1_700_152_069.966_957_6),
            (RateLimitRule(limit: 200, period: 60, burst: 20), 1_700_000_000.123_456),
        ] as [(RateLimitRule, Double)])
    func inexactIntervalsStillAllowExactlyTheBurst(rule: RateLimitRule, now: Double) {
        var tat: Double?
        var remainders: [Int] = []
        for _ in 0..<rule.burst {
            let (decision, newTAT) = GCRA.decide(storedTAT: tat, now: now, rule: rule)
            #expect(decision.allowed)
            remainders.append(decision.remaining)
            tat = newTAT ?? tat
        }
        #expect(remainders == Array((0..<rule.burst).reversed()))
        let (refused, unchanged) = GCRA.decide(storedTAT: tat, now: now, rule: rule)
        #expect(!refused.allowed)
        #expect(refused.remaining == 0)
        // Epoch seconds are stored in steps of about 2.4e-7 s.
        #expect(abs(refused.retryAfter - rule.emissionInterval) < 1e-5)
        #expect(abs(refused.resetAfter - rule.capacity) < 1e-5)
        #expect(unchanged == nil)
    }
}
