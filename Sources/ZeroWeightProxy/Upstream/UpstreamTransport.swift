import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends one request upstream and reports exactly once, within the deadline.
///
/// The seam between the handler and the network: `URLSessionTransport` in the executables,
/// scripted fakes in unit tests.
public protocol UpstreamTransport: Sendable {
    /// Sends `request`; calls `completion` exactly once, at the latest `timeout` seconds from now.
    ///
    /// - Parameters:
    ///   - request: the request, headers included.
    ///   - maximumBytes: bodies (or declared lengths) above this end the exchange as `.tooLarge`.
    ///   - timeout: the whole-exchange deadline in seconds.
    ///   - completion: receives the result on an arbitrary thread.
    func send(
        _ request: URLRequest, maximumBytes: Int, timeout: Double,
        completion: @escaping @Sendable (UpstreamResult) -> Void)
}
