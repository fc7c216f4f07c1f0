import Foundation

/// What the bundle cache answered for one request, and where the answer came from (for the log).
public struct BundleLookup: Sendable {
    /// Where an answer came from; the log's `cache` field.
    public enum Source: String, Sendable, Hashable {
        /// From the store.
        case hit
        /// This request called the upstream.
        case miss
        /// Another request in this process called the upstream at the same time; its answer was shared.
        case shared
        /// Another process was calling the upstream; its answer was read from the store.
        case waited
    }

    public var result: Result<CachedBundle, ProxyError>
    public var source: Source
    /// This request's log entry as the upstream call left it (`miss` only): status, time, and the
    /// budget that refused it, if one did.
    public var upstreamEntry: RequestLogEntry?
    /// What went wrong with the store, if anything (the answer is still given, uncached).
    public var storeProblem: String?

    /// The same answer as seen by a request that waited in this process for it.
    func shared() -> BundleLookup {
        var copy = self
        if copy.source == .miss { copy.source = .shared }
        copy.upstreamEntry = nil
        return copy
    }
}
