import Foundation

/// Whole-exchange deadlines for many requests on one thread that wakes only when one is due.
///
/// A Dispatch timer per request costs a wake-up of libdispatch's manager thread to arm it and
/// another to cancel it. Here a request's deadline is an entry in a sorted list: adding one at the
/// end (every request of a process has the same timeout) touches no other thread, and the thread
/// sleeps until the earliest entry is due. Entries are not removed when their exchange ends early;
/// `expire` is told the identifier and ignores exchanges that have already ended. A deadline fires
/// at most `slack` late, so under load the thread wakes about `1 / slack` times a second, not once
/// per request.
final class DeadlineQueue: @unchecked Sendable {
    private struct Entry {
        let due: ContinuousClock.Instant
        let identifier: Int
    }

    private let condition = NSCondition()
    /// Sorted by `due`; `entries[start...]` are pending (the prefix is spent, dropped in batches).
    private var entries: [Entry] = []
    private var start = 0
    private let slack: Duration
    private let expire: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - slack: how late a deadline may fire, so that deadlines falling close together share one
    ///     wake-up.
    ///   - expire: called on the queue's thread with the identifier of each exchange whose
    ///     deadline has passed.
    init(slack: Duration = .milliseconds(20), expire: @escaping @Sendable (Int) -> Void) {
        self.slack = slack
        self.expire = expire
        let thread = Thread { [self] in run() }
        thread.name = "zeroweight-proxy.deadlines"
        thread.start()
    }

    /// Expires `identifier` once `seconds` have passed.
    func add(_ identifier: Int, after seconds: Double) {
        let entry = Entry(due: .now + .seconds(seconds), identifier: identifier)
        condition.withLock {
            var index = entries.endIndex
            while index > start && entries[index - 1].due > entry.due { index -= 1 }
            entries.insert(entry, at: index)
            // The thread is waiting for a later entry, or for any: it must look again.
            if index == start { condition.signal() }
        }
    }

    private func run() {
        condition.lock()
        while true {
            guard start < entries.endIndex else {
                condition.wait()
                continue
            }
            let now = ContinuousClock.now
            let head = entries[start].due
            if head > now {
                // NSCondition waits on the wall clock; at most a second at a time, so that the clock
                // being set back cannot hold a deadline up for longer than that.
                let wait = min(head - now + slack, .seconds(1))
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(wait)))
                continue
            }
            var due: [Int] = []
            while start < entries.endIndex && entries[start].due <= now {
                due.append(entries[start].identifier)
                start += 1
            }
            if start > 1024 && start * 2 > entries.count {
                entries.removeSubrange(..<start)
                start = 0
            }
            condition.unlock()
            for identifier in due { expire(identifier) }
            condition.lock()
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
