import Foundation

/// Applies the configured limits to requests and to the upstream budget, against one store.
public final class RateLimiter: Sendable {
    public let configuration: RateLimitConfiguration
    let store: any RateLimitStore

    public init(configuration: RateLimitConfiguration, store: any RateLimitStore) {
        self.configuration = configuration
        self.store = store
    }

    /// What a check concluded.
    public enum Verdict: Sendable {
        /// Go on; `headers` describe the tightest limit that applied.
        case allowed(headers: [HTTPHeader])
        /// Over the limit named `name`: answer with `error`.
        case limited(name: String, error: ProxyError)
        /// The store failed; `error` is set when the policy is to fail closed.
        case storeFailed(StoreError, error: ProxyError?)

        /// The log's `rate_limit` field.
        public var logValue: String {
            switch self {
            case .allowed: "ok"
            case .limited(let name, _): name
            case .storeFailed(_, let error): error == nil ? "store_failed_open" : "store_failed_closed"
            }
        }
    }

    /// Checks the route's limits for a request from `clientIP` by `caller`.
    public func check(route: Route, clientIP: String, caller: Caller) -> Verdict {
        let rules = configuration.rules[route] ?? [:]
        var checks: [(name: String, key: String, rule: RateLimitRule)] = []
        if let rule = rules[.ip] { checks.append(("ip", "rl:\(route.rawValue):ip:\(clientIP)", rule)) }
        if let rule = rules[.subject], let subject = caller.subject {
            checks.append(("subject", "rl:\(route.rawValue):subject:\(subject)", rule))
        }
        if let rule = rules[.tenant], let tenant = caller.tenant {
            checks.append(("tenant", "rl:\(route.rawValue):tenant:\(tenant)", rule))
        }
        return run(
            checks,
            limitedError: { name, decision, rule in
                ProxyError.rateLimited.adding(headers: Self.headers(name: name, rule: rule, decision: decision))
            })
    }

    /// Spends one request of the upstream budget; refuses with 503 before ZeroWeight starts refusing.
    public func spendUpstream() -> Verdict {
        guard let rule = configuration.upstream else { return .allowed(headers: []) }
        return run(
            [("upstream", "rl:upstream", rule)],
            limitedError: { _, decision, _ in
                ProxyError.upstreamBudgetExhausted.adding(headers: [
                    HTTPHeader("Retry-After", String(Int(decision.retryAfter.rounded(.up))))
                ])
            }, headersOnSuccess: false)
    }

    /// Feeds what the upstream said back into the budget: a 429 holds it for its Retry-After (60 s
    /// when absent); `X-RateLimit-Remaining: 0` holds it for one emission interval.
    public func upstreamAnswered(status: Int, retryAfter: String?, remaining: String?) {
        guard let rule = configuration.upstream else { return }
        if status == 429 {
            let seconds = Double(UpstreamResponseMapper.retryAfterSeconds(retryAfter)) ?? 60
            try? store.hold(key: "rl:upstream", rule: rule, for: seconds)
        } else if remaining?.trimmingCharacters(in: .whitespaces) == "0" {
            try? store.hold(key: "rl:upstream", rule: rule, for: rule.emissionInterval)
        }
    }

    private func run(
        _ checks: [(name: String, key: String, rule: RateLimitRule)],
        limitedError: (String, RateLimitDecision, RateLimitRule) -> ProxyError, headersOnSuccess: Bool = true
    ) -> Verdict {
        var tightest: (name: String, rule: RateLimitRule, decision: RateLimitDecision)?
        for check in checks {
            let decision: RateLimitDecision
            do {
                decision = try store.decide(key: check.key, rule: check.rule, cost: 1)
            } catch {
                let closed = configuration.onStoreFailure == .closed
                return .storeFailed(error, error: closed ? .rateLimitUnavailable : nil)
            }
            guard decision.allowed else {
                return .limited(name: check.name, error: limitedError(check.name, decision, check.rule))
            }
            if tightest == nil || decision.remaining < tightest!.decision.remaining {
                tightest = (check.name, check.rule, decision)
            }
        }
        guard headersOnSuccess, let tightest else { return .allowed(headers: []) }
        return .allowed(headers: Self.headers(name: tightest.name, rule: tightest.rule, decision: tightest.decision))
    }

    /// The IETF httpapi draft headers (`RateLimit-Policy`, `RateLimit`), plus `Retry-After` when refused.
    static func headers(name: String, rule: RateLimitRule, decision: RateLimitDecision) -> [HTTPHeader] {
        var headers = [
            HTTPHeader("RateLimit-Policy", "\"\(name)\";q=\(rule.burst);w=\(Int(rule.period.rounded(.up)))"),
            HTTPHeader(
                "RateLimit", "\"\(name)\";r=\(decision.remaining);t=\(Int(decision.resetAfter.rounded(.up)))"),
        ]
        if !decision.allowed {
            headers.insert(HTTPHeader("Retry-After", String(max(1, Int(decision.retryAfter.rounded(.up))))), at: 0)
        }
        return headers
    }
}
