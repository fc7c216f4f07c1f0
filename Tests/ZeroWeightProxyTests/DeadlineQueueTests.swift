import Foundation
import Synchronization
import Testing

@testable import ZeroWeightProxy

@Suite struct DeadlineQueueTests {
    /// Collects what the queue expires, with when.
    final class Expired: Sendable {
        let started = ContinuousClock.now
        let entries = Mutex<[(identifier: Int, after: Duration)]>([])
        func record(_ identifier: Int) {
            let after = ContinuousClock.now - started
            entries.withLock { $0.append((identifier, after)) }
        }
        var identifiers: [Int] { entries.withLock { $0.map(\.identifier) } }
        func wait(for count: Int, timeout: Duration = .seconds(5)) {
            let deadline = ContinuousClock.now + timeout
            while entries.withLock({ $0.count }) < count && ContinuousClock.now < deadline {
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
        let after = expired.entries.withLock { $0.first?.after }
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
