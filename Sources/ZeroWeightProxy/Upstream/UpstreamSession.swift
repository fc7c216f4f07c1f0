import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One `URLSession` and the exchanges in flight on it, driven by its delegate.
///
/// On Linux, URLSession follows redirects with every custom header (the key included) unless the
/// delegate refuses, ignores `timeoutIntervalForResource`, and allows six connections per host by
/// default. This class refuses every redirect, stops reading past the size limit, and raises the
/// per-host connection cap so a slow upstream does not queue concurrent FastCGI requests. The
/// whole-request deadline is `URLSessionTransport`'s, which calls `expire`.
final class UpstreamSession: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private final class Exchange {
        let task: URLSessionDataTask
        let maximumBytes: Int
        let completion: @Sendable (UpstreamResult) -> Void
        var status = 0
        var retryAfter: String?
        var rateLimitRemaining: String?
        var body = Data()

        init(task: URLSessionDataTask, maximumBytes: Int, completion: @escaping @Sendable (UpstreamResult) -> Void) {
            self.task = task
            self.maximumBytes = maximumBytes
            self.completion = completion
        }
    }

    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]
    private var session: URLSession!
    private let delegateDispatchQueue = DispatchQueue(label: "zeroweight-proxy.upstream")

    /// - Parameter maximumConnectionsPerHost: concurrent upstream connections allowed.
    init(maximumConnectionsPerHost: Int) {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.name = "zeroweight-proxy.upstream"
        queue.maxConcurrentOperationCount = 1
        queue.underlyingQueue = delegateDispatchQueue
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    /// Starts `request`; returns the task's identifier, for `expire`.
    func send(
        _ request: URLRequest, maximumBytes: Int, completion: @escaping @Sendable (UpstreamResult) -> Void
    ) -> Int {
        let task = session.dataTask(with: request)
        let identifier = task.taskIdentifier
        let exchange = Exchange(task: task, maximumBytes: maximumBytes, completion: completion)
        lock.withLock { exchanges[identifier] = exchange }
        task.resume()
        return identifier
    }

    /// Ends exchange `identifier` as timed out, if it is still in flight, and cancels its task.
    func expire(_ identifier: Int) {
        if let exchange = finish(identifier, .failure(.timeout)) { exchange.task.cancel() }
    }

    /// Ends exchange `identifier` with `result`; nil when it had already ended.
    @discardableResult
    private func finish(_ identifier: Int, _ result: UpstreamResult) -> Exchange? {
        guard let exchange = lock.withLock({ exchanges.removeValue(forKey: identifier) }) else { return nil }
        exchange.completion(result)
        return exchange
    }

    private func exchange(_ identifier: Int) -> Exchange? {
        lock.withLock { exchanges[identifier] }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        // Following would send the key to wherever the redirect points.
        finish(task.taskIdentifier, .response(UpstreamResponse(status: response.statusCode, body: Data())))
        completionHandler(nil)
        task.cancel()
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        // corelibs Foundation ignores the `.cancel` disposition ("Ignoring disposition from completion
        // handler") and would read the whole body: the task itself must be cancelled.
        guard let exchange = exchange(dataTask.taskIdentifier), let http = response as? HTTPURLResponse else {
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        if http.expectedContentLength > Int64(exchange.maximumBytes) {
            finish(dataTask.taskIdentifier, .failure(.tooLarge))
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        exchange.status = http.statusCode
        exchange.retryAfter = http.value(forHTTPHeaderField: "Retry-After")
        exchange.rateLimitRemaining = http.value(forHTTPHeaderField: "X-RateLimit-Remaining")
        if http.expectedContentLength > 0 { exchange.body.reserveCapacity(Int(http.expectedContentLength)) }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(dataTask.taskIdentifier) else { return }
        if exchange.body.count + data.count > exchange.maximumBytes {
            finish(dataTask.taskIdentifier, .failure(.tooLarge))
            dataTask.cancel()
            return
        }
        exchange.body.append(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let exchange = exchange(task.taskIdentifier) else { return }
        if error != nil || exchange.status == 0 {
            finish(task.taskIdentifier, .failure(.unreachable))
        } else {
            finish(
                task.taskIdentifier,
                .response(
                    UpstreamResponse(
                        status: exchange.status, retryAfter: exchange.retryAfter,
                        rateLimitRemaining: exchange.rateLimitRemaining, body: exchange.body)))
        }
    }
}
