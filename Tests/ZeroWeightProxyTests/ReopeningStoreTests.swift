import Foundation
import Testing

@testable import ZeroWeightProxy

/// Opens stores by a script of outcomes (the last one repeats) and counts the attempts.
private final class Opener: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<MemoryStore, StoreError>]
    private var attempts = 0

    init(_ outcomes: [Result<MemoryStore, StoreError>]) { self.outcomes = outcomes }

    var calls: Int { lock.withLock { attempts } }

    func open() throws(StoreError) -> any RateLimitStore {
        let outcome = lock.withLock {
            attempts += 1
            return outcomes.count > 1 ? outcomes.removeFirst() : outcomes[0]
        }
        return try outcome.get()
    }
}

@Suite struct ReopeningStoreTests {
    private let rule = RateLimitRule(limit: 5, period: 60)
    private let down = StoreError.unavailable("cannot open /var/lib/zeroweight-proxy/state.db")
    private let stillDown = StoreError.timeout("still locked")

    private func store(_ opener: Opener) -> ReopeningStore {
        ReopeningStore(name: "sqlite", retryInterval: 0.2) { [opener] () throws(StoreError) -> any RateLimitStore in
            try opener.open()
        }
    }

    @Test func opensLazilyAndOnlyOnce() throws {
        let opener = Opener([.success(MemoryStore())])
        let store = store(opener)
        #expect(store.name == "sqlite")
        #expect(opener.calls == 0)
        #expect(try store.decide(key: "k", rule: rule, cost: 1).remaining == 4)
        #expect(opener.calls == 1)
        #expect(try store.decide(key: "k", rule: rule, cost: 1).remaining == 3)
        try store.hold(key: "h", rule: rule, for: 5)
        try store.cache(key: "c", value: Data("v".utf8), ttl: 60)
        #expect(try store.cachedValue(key: "c") == Data("v".utf8))
        #expect(opener.calls == 1)
    }

    @Test func everyOperationGoesToTheOpenedStore() throws {
        let memory = MemoryStore()
        let store = store(Opener([.success(memory)]))
        try store.cache(key: "c", value: Data("v".utf8), ttl: 60)
        #expect(try memory.cachedValue(key: "c") == Data("v".utf8))
        _ = try store.decide(key: "k", rule: rule, cost: 1)
        #expect(try memory.decide(key: "k", rule: rule, cost: 1).remaining == 3)
        try store.hold(key: "h", rule: rule, for: 30)
        #expect(try memory.decide(key: "h", rule: rule, cost: 1).allowed == false)
    }

    @Test func afterAFailureTheSameErrorIsRethrownUntilTheIntervalPasses() async throws {
        let opener = Opener([.failure(down), .success(MemoryStore())])
        let store = store(opener)
        #expect(throws: down) { try store.decide(key: "k", rule: rule, cost: 1) }
        #expect(opener.calls == 1)
        #expect(throws: down) { try store.decide(key: "k", rule: rule, cost: 1) }
        #expect(throws: down) { try store.hold(key: "k", rule: rule, for: 1) }
        #expect(throws: down) { try store.cachedValue(key: "k") }
        #expect(throws: down) { try store.cache(key: "k", value: Data(), ttl: 1) }
        #expect(opener.calls == 1)

        try await Task.sleep(for: .milliseconds(250))
        #expect(try store.decide(key: "k", rule: rule, cost: 1).remaining == 4)
        #expect(opener.calls == 2)
        #expect(try store.decide(key: "k", rule: rule, cost: 1).remaining == 3)
        #expect(opener.calls == 2)
    }

    @Test func aFailedRetryStartsAnotherInterval() async throws {
        let opener = Opener([.failure(down), .failure(stillDown), .success(MemoryStore())])
        let store = store(opener)
        #expect(throws: down) { try store.decide(key: "k", rule: rule, cost: 1) }
        try await Task.sleep(for: .milliseconds(250))
        #expect(throws: stillDown) { try store.decide(key: "k", rule: rule, cost: 1) }
        #expect(opener.calls == 2)
        #expect(throws: stillDown) { try store.decide(key: "k", rule: rule, cost: 1) }
        #expect(opener.calls == 2)
        try await Task.sleep(for: .milliseconds(250))
        #expect(try store.decide(key: "k", rule: rule, cost: 1).remaining == 4)
        #expect(opener.calls == 3)
    }
}
