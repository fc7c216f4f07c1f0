import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The real transport: one `URLSession` per process and one thread keeping the deadlines.
///
/// corelibs Foundation ignores `timeoutIntervalForResource`, so the whole-exchange deadline is
/// kept here, by a `DeadlineQueue` rather than a Dispatch timer per request (each costs two
/// wake-ups of libdispatch's manager thread). What the session does with redirects, sizes and
/// connections is `UpstreamSession`'s.
public final class URLSessionTransport: UpstreamTransport, Sendable {
    private let session: UpstreamSession
    private let deadlines: DeadlineQueue

    /// - Parameter maximumConnectionsPerHost: concurrent upstream connections allowed.
    public init(maximumConnectionsPerHost: Int = 512) {
        let session = UpstreamSession(maximumConnectionsPerHost: maximumConnectionsPerHost)
        self.session = session
        deadlines = DeadlineQueue { session.expire($0) }
    }

    public func send(
        _ request: URLRequest, maximumBytes: Int, timeout: Double,
        completion: @escaping @Sendable (UpstreamResult) -> Void
    ) {
        let identifier = session.send(request, maximumBytes: maximumBytes, completion: completion)
        deadlines.add(identifier, after: timeout)
    }
}
