import Foundation
import Testing

@testable import ZeroWeightProxy

/// A fetch that counts its calls and answers only when the test releases it.
private final class GatedFetch: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [@Sendable (Result<Data, ProxyError>, RequestLogEntry) -> Void] = []
    private var count = 0

    var calls: Int { lock.withLock { count } }

    var fetch: BundleCache.Fetch {
        { [self] done in
            lock.withLock {
                count += 1
                pending.append(done)
            }
        }
    }

    /// Answers every call made so far with `result`.
    func release(_ result: Result<Data, ProxyError>) {
        let waiting = lock.withLock {
            defer { pending = [] }
            return pending
        }
        var entry = RequestLogEntry(
            time: Date(), route: .bundle, method: "GET", status: 0, durationMilliseconds: 0, clientAddress: "")
        entry.upstreamStatus = 200
        for done in waiting { done(result, entry) }
    }
}

/// Lookups handed over from any thread.
private final class Lookups: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [BundleLookup] = []

    func append(_ value: BundleLookup) { lock.withLock { stored.append(value) } }
    var all: [BundleLookup] { lock.withLock { stored } }
    var sources: [BundleLookup.Source] { all.map(\.source) }

    func wait(for count: Int, timeout: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while all.count < count {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return true
    }
}

@Suite struct BundleCacheTests {
    private let avatar = AvatarID("abc")!
    private let body = Data(#"{"avatar":"abc"}"#.utf8)

    private func cache(_ store: any RateLimitStore = MemoryStore(), ttl: Double = 60, wait: Double = 5) -> BundleCache {
        BundleCache(store: store, ttl: ttl, wait: wait, scope: "s")
    }

    @Test func concurrentMissesInOneProcessMakeOneCallAndShareIt() throws {
        let store = MemoryStore()
        let cache = cache(store)
        let fetch = GatedFetch()
        let lookups = Lookups()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        }
        #expect(fetch.calls == 1)
        #expect(lookups.all.isEmpty)
        fetch.release(.success(body))
        #expect(lookups.wait(for: 16))
        #expect(lookups.sources.filter { $0 == .miss }.count == 1)
        #expect(lookups.sources.filter { $0 == .shared }.count == 15)
        #expect(lookups.all.allSatisfy { (try? $0.result.get().body) == body })
        #expect(lookups.all.filter { $0.upstreamEntry != nil }.map(\.source) == [.miss])

        // Then from the store, without a call.
        let later = Lookups()
        cache.load(avatar, fetch: fetch.fetch) { later.append($0) }
        #expect(later.sources == [.hit])
        #expect(try later.all.first?.result.get() == CachedBundle(body: body))
        #expect(fetch.calls == 1)
        #expect(try store.cachedValue(key: "bundle:s:abc") == CachedBundle(body: body).encoded())
    }

    @Test func errorsAreSharedWithTheWaitersButNeverStored() throws {
        let store = MemoryStore()
        let cache = cache(store)
        let fetch = GatedFetch()
        let lookups = Lookups()
        for _ in 0..<3 { cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) } }
        fetch.release(.failure(.upstreamTimeout))
        #expect(lookups.wait(for: 3))
        #expect(lookups.all.allSatisfy { $0.result == .failure(.upstreamTimeout) })
        #expect(try store.cachedValue(key: "bundle:s:abc") == nil)
        // The claim was given up: another taker gets it at once.
        #expect(try store.claim(key: "bundle:s:abc", token: "test", ttl: 1))
        try store.release(key: "bundle:s:abc", token: "test")

        let again = Lookups()
        cache.load(avatar, fetch: fetch.fetch) { again.append($0) }
        #expect(fetch.calls == 2)
        fetch.release(.success(body))
        #expect(again.wait(for: 1))
        #expect(again.sources == [.miss])
    }

    @Test func entriesExpireAfterTheTTL() {
        let cache = cache(ttl: 0.2)
        let fetch = GatedFetch()
        let lookups = Lookups()
        cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        Thread.sleep(forTimeInterval: 0.3)
        cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        #expect(lookups.wait(for: 3))
        #expect(lookups.sources == [.miss, .hit, .miss])
        #expect(fetch.calls == 2)
    }

    @Test func avatarsAndScopesAreKeptApart() {
        let store = MemoryStore()
        let fetch = GatedFetch()
        let lookups = Lookups()
        let mine = BundleCache(store: store, ttl: 60, wait: 5, scope: "mine")
        let theirs = BundleCache(store: store, ttl: 60, wait: 5, scope: "theirs")
        mine.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        theirs.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        mine.load(AvatarID("other")!, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        #expect(lookups.wait(for: 3))
        #expect(lookups.sources == [.miss, .miss, .miss])
        #expect(fetch.calls == 3)
    }

    /// Two caches over one store stand for two processes over one SQLite file or Redis.
    @Test func anotherProcessWaitsForTheClaimHolderAndReadsItsValue() {
        let store = MemoryStore()
        let first = cache(store)
        let second = cache(store)
        let firstFetch = GatedFetch()
        let secondFetch = GatedFetch()
        let lookups = Lookups()
        first.load(avatar, fetch: firstFetch.fetch) { lookups.append($0) }
        second.load(avatar, fetch: secondFetch.fetch) { lookups.append($0) }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(lookups.all.isEmpty)
        firstFetch.release(.success(body))
        #expect(lookups.wait(for: 2))
        #expect(Set(lookups.sources) == [.miss, .waited])
        #expect(lookups.all.allSatisfy { (try? $0.result.get().body) == body })
        #expect(firstFetch.calls == 1)
        #expect(secondFetch.calls == 0)
    }

    @Test func whenTheClaimHolderFailsTheWaiterCallsItself() {
        let store = MemoryStore()
        let first = cache(store)
        let second = cache(store)
        let firstFetch = GatedFetch()
        let secondFetch = GatedFetch()
        let lookups = Lookups()
        first.load(avatar, fetch: firstFetch.fetch) { lookups.append($0) }
        second.load(avatar, fetch: secondFetch.fetch) { lookups.append($0) }
        firstFetch.release(.failure(.upstreamError))
        #expect(lookups.wait(for: 1))
        let deadline = Date(timeIntervalSinceNow: 2)
        while secondFetch.calls == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        #expect(secondFetch.calls == 1)
        secondFetch.release(.success(body))
        #expect(lookups.wait(for: 2))
        #expect(lookups.all.map(\.source) == [.miss, .miss])
        #expect(lookups.all.first?.result == .failure(.upstreamError))
        #expect((try? lookups.all.last?.result.get().body) == body)
    }

    @Test func aWaiterGivesUpAtTheUpstreamDeadlineWithoutCalling() {
        let store = MemoryStore()
        let first = cache(store)
        let second = cache(store, wait: 0.2)
        let firstFetch = GatedFetch()
        let secondFetch = GatedFetch()
        let lookups = Lookups()
        first.load(avatar, fetch: firstFetch.fetch) { lookups.append($0) }
        let started = Date()
        second.load(avatar, fetch: secondFetch.fetch) { lookups.append($0) }
        #expect(lookups.wait(for: 1))
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.2 && waited < 1)
        #expect(lookups.all.map(\.source) == [.waited])
        #expect(lookups.all.first?.result == .failure(.upstreamTimeout))
        #expect(secondFetch.calls == 0)
        firstFetch.release(.success(body))
    }

    @Test func aFailingStoreStepsAsideAndTheRequestStillGoesThrough() {
        let store = ReopeningStore(name: "redis", retryInterval: 60) { () throws(StoreError) -> any RateLimitStore in
            throw StoreError.unavailable("redis: connection refused")
        }
        let cache = cache(store)
        let fetch = GatedFetch()
        let lookups = Lookups()
        cache.load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        #expect(lookups.wait(for: 1))
        #expect(lookups.sources == [.miss])
        #expect((try? lookups.all.first?.result.get().body) == body)
        #expect(lookups.all.first?.storeProblem == "store_unavailable: redis: connection refused")
    }

    @Test func aDamagedStoredValueIsAMiss() throws {
        let store = MemoryStore()
        try store.cache(key: "bundle:s:abc", value: Data("not a bundle".utf8), ttl: 60)
        let fetch = GatedFetch()
        let lookups = Lookups()
        cache(store).load(avatar, fetch: fetch.fetch) { lookups.append($0) }
        fetch.release(.success(body))
        #expect(lookups.wait(for: 1))
        #expect(lookups.sources == [.miss])
        #expect(try store.cachedValue(key: "bundle:s:abc") == CachedBundle(body: body).encoded())
    }

    @Test func theScopeNamesTheAccountWithoutTheKey() {
        let key = APIKey("zw_live_secret_123")!
        let scope = BundleCache.scope(apiBase: .default, apiKey: key)
        #expect(scope.utf8.count == 11)
        #expect(!scope.contains("secret"))
        #expect(scope == BundleCache.scope(apiBase: .default, apiKey: key))
        #expect(scope != BundleCache.scope(apiBase: .default, apiKey: APIKey("zw_live_secret_124")!))
        #expect(scope != BundleCache.scope(apiBase: APIBase(validating: "http://127.0.0.1:9")!, apiKey: key))
    }
}
