import Foundation

/// Successful bundle answers, kept per avatar in the rate-limit store for a fixed time.
///
/// Bundles are the same for everyone allowed to see an avatar, so the handler consults the cache
/// only after the sign-in, tenant and rate-limit checks. Only validated 200 bodies are stored; tokens
/// and errors never are. Misses fly once: requests in one process wait for the one that calls the
/// upstream (`SingleFlight`), and processes agree through a claim in the store, so that the others
/// poll the store for the value instead of calling too. A store that fails makes the cache step
/// aside (the request goes upstream, the log says why); it never fails a request.
public final class BundleCache: Sendable {
    /// Calls the upstream once and hands back the body to pass through or the error to answer with.
    public typealias Fetch =
        @Sendable (
            _ done: @escaping @Sendable (Result<Data, ProxyError>, RequestLogEntry) -> Void
        ) -> Void

    let store: any RateLimitStore
    /// Seconds a bundle stays fresh.
    let ttl: Double
    /// Seconds a request waits for another process's upstream call before answering 504.
    let wait: Double
    /// Separates the cache entries of different upstream accounts sharing one store.
    let scope: String
    private let flights = SingleFlight<BundleLookup>()

    /// - Parameters:
    ///   - ttl: seconds a bundle stays fresh (positive).
    ///   - wait: the upstream timeout: the longest another process's call can take.
    ///   - scope: names the upstream account (never the key itself): see `scope(apiBase:apiKey:)`.
    public init(store: any RateLimitStore, ttl: Double, wait: Double, scope: String) {
        self.store = store
        self.ttl = ttl
        self.wait = wait
        self.scope = scope
    }

    /// A short name for the account behind `apiKey` at `apiBase`: 64 bits of a SHA-256 over both,
    /// so that sites sharing one Redis never serve each other's bundles, and a new key starts afresh.
    public static func scope(apiBase: APIBase, apiKey: APIKey) -> String {
        let material = Data(("zeroweight-proxy bundle cache\u{0}" + apiBase.origin + "\u{0}" + apiKey.headerValue).utf8)
        let digest = material.withUnsafeBytes { LibCrypto.sha256($0) } ?? []
        return Base64URL.encode(digest.prefix(8))
    }

    /// The bundle for `avatarID`, from the store, from a flight already under way, or from `fetch`.
    public func load(
        _ avatarID: AvatarID, fetch: @escaping Fetch, completion: @escaping @Sendable (BundleLookup) -> Void
    ) {
        let key = "bundle:" + scope + ":" + avatarID.rawValue
        var problem: String?
        do throws(StoreError) {
            if let bundle = try cached(key) {
                completion(BundleLookup(result: .success(bundle), source: .hit))
                return
            }
        } catch {
            problem = error.description
        }
        let leads = flights.join(key) { lookup, led in completion(led ? lookup : lookup.shared()) }
        guard leads else { return }
        if let problem {
            call(key, claim: nil, problem: problem, fetch: fetch)
        } else {
            lead(key, token: UUID().uuidString, deadline: Self.now() + wait, delay: 0.005, fetch: fetch)
        }
    }

    /// Takes the claim and calls the upstream, or waits while another process holds it.
    private func lead(_ key: String, token: String, deadline: Double, delay: Double, fetch: @escaping Fetch) {
        do throws(StoreError) {
            if try store.claim(key: key, token: token, ttl: wait + 1) {
                call(key, claim: token, problem: nil, fetch: fetch)
                return
            }
        } catch {
            call(key, claim: nil, problem: error.description, fetch: fetch)
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
            poll(key, token: token, deadline: deadline, delay: delay, fetch: fetch)
        }
    }

    /// One look at the store while another process fetches: its value, its claim gone (then this
    /// process leads), or the deadline (504, as if this request had waited for the upstream itself).
    private func poll(_ key: String, token: String, deadline: Double, delay: Double, fetch: @escaping Fetch) {
        do throws(StoreError) {
            if let bundle = try cached(key) {
                flights.land(key, with: BundleLookup(result: .success(bundle), source: .waited))
                return
            }
        } catch {
            call(key, claim: nil, problem: error.description, fetch: fetch)
            return
        }
        guard Self.now() < deadline else {
            flights.land(key, with: BundleLookup(result: .failure(.upstreamTimeout), source: .waited))
            return
        }
        lead(key, token: token, deadline: deadline, delay: min(delay * 1.5, 0.05), fetch: fetch)
    }

    /// Calls the upstream, stores a success, gives up the claim, and lands the flight.
    private func call(_ key: String, claim token: String?, problem: String?, fetch: @escaping Fetch) {
        fetch { [self] result, entry in
            var lookup = BundleLookup(
                result: result.map(CachedBundle.init(body:)), source: .miss, upstreamEntry: entry,
                storeProblem: problem)
            do throws(StoreError) {
                if case .success(let bundle) = lookup.result {
                    try store.cache(key: key, value: bundle.encoded(), ttl: ttl)
                }
                if let token { try store.release(key: key, token: token) }
            } catch {
                lookup.storeProblem = error.description
            }
            flights.land(key, with: lookup)
        }
    }

    private func cached(_ key: String) throws(StoreError) -> CachedBundle? {
        try store.cachedValue(key: key).flatMap(CachedBundle.init(decoding:))
    }

    private static func now() -> Double { ProcessInfo.processInfo.systemUptime }
}
