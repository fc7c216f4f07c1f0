import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct DeadlineQueueTests {
    /// Collects what the queue expires, with when. (An NSLock, not Synchronization's Mutex: the
    /// ThreadSanitizer run does not see the futex inside Mutex and reports its accesses as races.)
    final class Expired: @unchecked Sendable {
        let started = ContinuousClock.now
        private let lock = NSLock()
        private var recorded: [(identifier: Int, after: Duration)] = []
        func record(_ identifier: Int) {
            let after = ContinuousClock.now - started
            lock.withLock { recorded.append((identifier, after)) }
        }
        var entries: [(identifier: Int, after: Duration)] { lock.withLock { recorded } }
        var identifiers: [Int] { entries.map(\.identifier) }
        func wait(for count: Int, timeout: Duration = .seconds(5)) {
            let deadline = ContinuousClock.now + timeout
            while entries.count < count && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    @Test func expiresEachIdentifierOnceInDeadlineOrder() {
        let expired = Expired()
        let queue = DeadlineQueue { expired.record($0) }
        queue.add(3, after: 0.15)
        queue.add(1, after: 0.05)
        queue.add(2, after: 0.10)
        expired.wait(for: 3)
        Thread.sleep(forTimeInterval: 0.05)
        #expect(expired.identifiers == [1, 2, 3])
    }

    @Test func neverFiresEarlyAndAtMostSlackLate() {
        let expired = Expired()
        let queue = DeadlineQueue(slack: .milliseconds(20)) { expired.record($0) }
        queue.add(7, after: 0.2)
        expired.wait(for: 1)
        let after = expired.entries.first?.after
        #expect(after.map { $0 >= .milliseconds(200) } == true)
        // Generous for a loaded CI machine; the point is that it is not a full second or never.
        #expect(after.map { $0 < .milliseconds(600) } == true)
    }

    @Test func anEarlierDeadlineWakesAQueueWaitingForALaterOne() {
        let expired = Expired()
        let queue = DeadlineQueue { expired.record($0) }
        queue.add(1, after: 30)
        Thread.sleep(forTimeInterval: 0.02)
        queue.add(2, after: 0.05)
        expired.wait(for: 1)
        #expect(expired.identifiers == [2])
    }

    @Test func manyDeadlinesAllFire() {
        let expired = Expired()
        let queue = DeadlineQueue { expired.record($0) }
        for identifier in 0..<3_000 { queue.add(identifier, after: 0.01 + Double(identifier % 7) / 1000) }
        expired.wait(for: 3_000)
        #expect(Set(expired.identifiers) == Set(0..<3_000))
        #expect(expired.identifiers.count == 3_000)
    }
}
