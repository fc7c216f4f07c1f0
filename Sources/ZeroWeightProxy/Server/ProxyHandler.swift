import Foundation

/// One route's request handling: validate, call upstream, map the answer, log.
///
/// Shared by CGI and FastCGI; it sees only a parameter dictionary and answers through a callback,
/// so it never blocks a thread while the upstream is slow.
public final class ProxyHandler: Sendable {
    public let route: Route
    let configuration: Result<ProxyConfiguration, ConfigurationError>
    let transport: any UpstreamTransport
    let logger: RequestLogger

    public init(
        route: Route, configuration: Result<ProxyConfiguration, ConfigurationError>,
        transport: any UpstreamTransport, logger: RequestLogger = .standardError
    ) {
        self.route = route
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
    }

    /// Handles one request given as CGI variables.
    ///
    /// - Parameters:
    ///   - environment: the CGI environment or FastCGI params.
    ///   - completion: called exactly once with the answer (body included even for HEAD; the writer
    ///     leaves it out).
    public func handle(environment: [String: String], completion: @escaping @Sendable (ProxyResponse) -> Void) {
        let started = ContinuousClock.now
        let time = Date()
        let request = CGIRequest(environment: environment)
        var entry = RequestLogEntry(
            time: time, route: route, method: request.method ?? "", status: 0, durationMilliseconds: 0,
            clientAddress: request.remoteAddress)
        entry.hasAuthorization = request.hasAuthorization
        let finish: @Sendable (ProxyResponse, RequestLogEntry) -> Void = { [logger] response, entry in
            var entry = entry
            entry.status = response.status.code
            entry.errorCode = response.errorCode
            entry.durationMilliseconds = Self.milliseconds(since: started)
            logger.log(entry)
            completion(response)
        }

        let routeRequest: RouteRequest
        do {
            routeRequest = try route.parse(request)
        } catch {
            finish(ProxyResponse(error: error), entry)
            return
        }
        entry.avatarID = routeRequest.avatarID

        let configuration: ProxyConfiguration
        switch self.configuration {
        case .success(let value):
            configuration = value
        case .failure(let problem):
            entry.detail = problem.description
            finish(ProxyResponse(error: .misconfigured), entry)
            return
        }

        let upstreamStarted = ContinuousClock.now
        let urlRequest = UpstreamRequest(routeRequest).urlRequest(
            base: configuration.apiBase, key: configuration.apiKey, timeout: configuration.timeout)
        transport.send(urlRequest, maximumBytes: configuration.maximumResponseBytes, timeout: configuration.timeout) {
            [entry] result in
            var entry = entry
            entry.upstreamMilliseconds = Self.milliseconds(since: upstreamStarted)
            if case .response(let response) = result { entry.upstreamStatus = response.status }
            finish(UpstreamResponseMapper.map(result), entry)
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
