import Foundation

/// Requests in one process that want the same thing at the same time share one piece of work.
///
/// The first to `join` a key leads: it does the work and calls `land`, which hands the one value to
/// every request that joined meanwhile, itself included. A key is free again once it has landed.
final class SingleFlight<Value: Sendable>: @unchecked Sendable {
    typealias Waiter = @Sendable (_ value: Value, _ led: Bool) -> Void

    private let lock = NSLock()
    private var flights: [String: [Waiter]] = [:]

    /// Adds `waiter` to the flight for `key`, starting one if there is none.
    ///
    /// - Returns: true when the caller started the flight and must `land` it.
    func join(_ key: String, _ waiter: @escaping Waiter) -> Bool {
        lock.withLock {
            if flights[key] != nil {
                flights[key]?.append(waiter)
                return false
            }
            flights[key] = [waiter]
            return true
        }
    }

    /// Ends the flight for `key`, giving `value` to each waiter (the first, the leader, with `led` true).
    func land(_ key: String, with value: Value) {
        let waiters = lock.withLock { flights.removeValue(forKey: key) ?? [] }
        for (index, waiter) in waiters.enumerated() {
            waiter(value, index == 0)
        }
    }

    /// How many requests wait on `key` (tests).
    func waiting(on key: String) -> Int {
        lock.withLock { flights[key]?.count ?? 0 }
    }
}
