import Foundation

/// One route's request handling: authenticate, validate, check the policy, call upstream, log.
///
/// Shared by CGI and FastCGI; it sees only a parameter dictionary and answers through a callback,
/// so it never blocks a thread while the upstream is slow. Nothing reaches the upstream before
/// every check has passed.
public final class ProxyHandler: Sendable {
    public let route: Route
    let settings: Result<ProxySettings, ConfigurationError>
    let authenticator: Authenticator?
    let transport: any UpstreamTransport
    let logger: RequestLogger
    let rateLimiter: RateLimiter?
    /// Bundles kept in the rate-limit store; nil for tokens, without a store, or with a TTL of 0.
    let bundleCache: BundleCache?

    public init(
        route: Route, settings: Result<ProxySettings, ConfigurationError>,
        transport: any UpstreamTransport, logger: RequestLogger = .standardError, rateLimiter: RateLimiter? = nil
    ) {
        self.route = route
        self.settings = settings
        self.authenticator = (try? settings.get()).map { Authenticator(mode: $0.access.authMode) }
        self.transport = transport
        self.logger = logger
        self.rateLimiter = rateLimiter
        if route == .bundle, let rateLimiter, case .success(let settings) = settings,
            rateLimiter.configuration.bundleCacheSeconds > 0
        {
            bundleCache = BundleCache(
                store: rateLimiter.store, ttl: rateLimiter.configuration.bundleCacheSeconds,
                wait: settings.upstream.timeout,
                scope: BundleCache.scope(apiBase: settings.upstream.apiBase, apiKey: settings.upstream.apiKey))
        } else {
            bundleCache = nil
        }
    }

    /// Handles one request given as CGI variables.
    ///
    /// - Parameters:
    ///   - environment: the CGI environment or FastCGI params.
    ///   - completion: called exactly once with the answer (body included even for HEAD; the writer
    ///     leaves it out). Every answer carries `X-Request-ID`.
    public func handle(environment: [String: String], completion: @escaping @Sendable (ProxyResponse) -> Void) {
        let started = ContinuousClock.now
        let request = CGIRequest(environment: environment)
        let requestID = RequestID(incoming: environment["HTTP_X_REQUEST_ID"])
        var entry = RequestLogEntry(
            time: Date(), route: route, method: request.method ?? "", status: 0, durationMilliseconds: 0,
            clientAddress: request.remoteAddress)
        entry.requestID = requestID.rawValue
        entry.hasAuthorization = request.hasAuthorization
        var limitHeaders: [HTTPHeader] = []
        let finish: @Sendable (ProxyResponse, RequestLogEntry, [HTTPHeader]) -> Void = {
            [logger] response, entry, extra in
            var response = response
            response.headers.append(contentsOf: extra)
            response.headers.append(HTTPHeader("X-Request-ID", requestID.rawValue))
            var entry = entry
            entry.status = response.status.code
            entry.errorCode = response.errorCode
            entry.durationMilliseconds = Self.milliseconds(since: started)
            logger.log(entry)
            completion(response)
        }
        let fail: (ProxyError, RequestLogEntry) -> Void = { error, entry in
            finish(ProxyResponse(error: error, requestID: requestID.rawValue), entry, [])
        }

        guard case .success(let settings) = self.settings, let authenticator else {
            if case .failure(let problem) = self.settings { entry.detail = problem.description }
            fail(.misconfigured, entry)
            return
        }
        entry.clientAddress = settings.access.clientAddresses.clientAddress(
            remoteAddress: request.remoteAddress, forwardedFor: environment["HTTP_X_FORWARDED_FOR"])

        let outcome = authenticator.authenticate(environment)
        entry.auth = outcome.logValue
        let caller: Caller
        switch outcome {
        case .anonymous(let who), .authenticated(let who):
            caller = who
        case .missing(let error):
            fail(error, entry)
            return
        case .invalid(let error, let reason):
            entry.authDetail = reason
            fail(error, entry)
            return
        }
        entry.subject = caller.subject
        entry.tenant = caller.tenant

        if let rateLimiter {
            let verdict = rateLimiter.check(route: route, clientIP: entry.clientAddress, caller: caller)
            entry.rateLimit = verdict.logValue
            switch verdict {
            case .allowed(let headers):
                limitHeaders = headers
            case .limited(_, let error):
                fail(error, entry)
                return
            case .storeFailed(let problem, let error):
                entry.detail = problem.description
                if let error {
                    fail(error, entry)
                    return
                }
            }
        }

        var routeRequest: RouteRequest
        do throws(ProxyError) {
            routeRequest = try route.parse(request)
            entry.avatarID = routeRequest.avatarID
            guard settings.access.policy.allows(routeRequest.avatarID, tenant: caller.tenant) else {
                throw .avatarNotAllowed
            }
            if case .token(let avatarID, let name, let room) = routeRequest {
                let bound = try settings.access.tokenIdentity.bind(name: name, room: room, caller: caller)
                routeRequest = .token(avatarID: avatarID, name: bound.name, room: bound.room)
            }
        } catch {
            fail(error, entry)
            return
        }

        let headers = limitHeaders
        if case .bundle(let avatarID) = routeRequest {
            answerBundle(
                avatarID, request: routeRequest, settings: settings, entry: entry,
                ifNoneMatch: environment["HTTP_IF_NONE_MATCH"]
            ) { response, entry in finish(response, entry, headers) }
            return
        }
        forward(routeRequest, settings: settings, entry: entry) { result, entry in
            switch result {
            case .success(let body): finish(ProxyResponse(status: .ok, body: body), entry, headers)
            case .failure(let error):
                finish(ProxyResponse(error: error, requestID: requestID.rawValue), entry, headers)
            }
        }
    }

    /// A bundle: from the cache when there is one, else from the upstream; 304 when the caller's
    /// `If-None-Match` names it. Errors are never cached.
    private func answerBundle(
        _ avatarID: AvatarID, request: RouteRequest, settings: ProxySettings, entry: RequestLogEntry,
        ifNoneMatch: String?, finish: @escaping @Sendable (ProxyResponse, RequestLogEntry) -> Void
    ) {
        let requestID = entry.requestID
        let answer: @Sendable (Result<CachedBundle, ProxyError>, RequestLogEntry) -> Void = { result, entry in
            switch result {
            case .success(let bundle): finish(bundle.response(ifNoneMatch: ifNoneMatch), entry)
            case .failure(let error): finish(ProxyResponse(error: error, requestID: requestID), entry)
            }
        }
        guard let bundleCache else {
            forward(request, settings: settings, entry: entry) { result, entry in
                answer(result.map(CachedBundle.init(body:)), entry)
            }
            return
        }
        let fetch: BundleCache.Fetch = { [self] done in
            forward(request, settings: settings, entry: entry, done: done)
        }
        bundleCache.load(avatarID, fetch: fetch) { lookup in
            var entry = lookup.upstreamEntry ?? entry
            entry.cache = lookup.source.rawValue
            if let problem = lookup.storeProblem { entry.detail = problem }
            answer(lookup.result, entry)
        }
    }

    /// Spends the upstream budget and calls the upstream; `done` gets the body to pass through or the
    /// error to answer with, and the log entry with what happened upstream.
    private func forward(
        _ request: RouteRequest, settings: ProxySettings, entry: RequestLogEntry,
        done: @escaping @Sendable (Result<Data, ProxyError>, RequestLogEntry) -> Void
    ) {
        var entry = entry
        if let rateLimiter {
            switch rateLimiter.spendUpstream() {
            case .allowed:
                break
            case .limited(let name, let error):
                entry.rateLimit = name
                done(.failure(error), entry)
                return
            case .storeFailed(let problem, let error):
                entry.detail = problem.description
                if let error {
                    entry.rateLimit = "store_failed_closed"
                    done(.failure(error), entry)
                    return
                }
            }
        }
        let upstream = settings.upstream
        let upstreamStarted = ContinuousClock.now
        let urlRequest = UpstreamRequest(request).urlRequest(
            base: upstream.apiBase, key: upstream.apiKey, timeout: upstream.timeout)
        transport.send(urlRequest, maximumBytes: upstream.maximumResponseBytes, timeout: upstream.timeout) {
            [entry, rateLimiter] result in
            var entry = entry
            entry.upstreamMilliseconds = Self.milliseconds(since: upstreamStarted)
            if case .response(let response) = result {
                entry.upstreamStatus = response.status
                rateLimiter?.upstreamAnswered(
                    status: response.status, retryAfter: response.retryAfter, remaining: response.rateLimitRemaining)
            }
            done(UpstreamResponseMapper.error(for: result, validator: JSONValidator()), entry)
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
