import CFastCGI
import Foundation

/// A FastCGI responder loop over libfcgi that serves many requests at once.
///
/// A few acceptor threads wait on the listening socket (made non-blocking, so a connection taken by
/// a sibling process is an `EAGAIN`, not a hang) and a wake-up pipe. Each accepted request is handed
/// to the handler, which answers asynchronously, so a slow upstream never holds up accepting; a small
/// answer is written by the thread that produced it, a large one on a Dispatch worker. SIGTERM (turned into a byte on a pipe by the
/// handler `Syscalls.catchTermination()` installed) wakes the acceptors: no more accepts, in-flight
/// requests finish, then the process exits 0.
final class FastCGIServer: @unchecked Sendable {
    private let listenFD: Int32
    private let handler: ProxyHandler
    private let logger: RequestLogger
    private let acceptorCount: Int
    private let drainSeconds: Double
    private let terminationFD: Int32
    private let wake: (read: Int32, write: Int32)
    private let state = NSCondition()
    private var inFlight = 0
    private var runningAcceptors = 0
    private var stopping = false

    init(
        listenFD: Int32, handler: ProxyHandler, logger: RequestLogger, acceptors: Int = 4, drainSeconds: Double,
        terminationFD: Int32
    ) throws(SystemError) {
        self.terminationFD = terminationFD
        self.listenFD = listenFD
        self.handler = handler
        self.logger = logger
        self.acceptorCount = acceptors
        self.drainSeconds = drainSeconds
        self.wake = try Syscalls.makePipe()
        try Syscalls.setNonBlocking(listenFD)
    }

    /// Serves until SIGTERM or SIGINT, then drains; returns the exit code.
    func run() -> Int32 {
        guard Syscalls.fastCGIInitialize() else {
            logger.event("fastcgi_init_failed")
            return 1
        }
        let signals = Thread { [self] in
            Syscalls.waitForTermination(terminationFD)
            stop()
        }
        signals.name = "fastcgi-signals"
        signals.start()
        state.withLock { runningAcceptors = acceptorCount }
        for index in 0..<acceptorCount {
            let thread = Thread { [self] in acceptLoop() }
            thread.name = "fastcgi-accept-\(index)"
            thread.start()
        }
        logger.event("listening", ["route": handler.route.rawValue, "pid": String(Syscalls.processID())])

        state.lock()
        while !(stopping && runningAcceptors == 0) { state.wait() }
        let deadline = Date(timeIntervalSinceNow: drainSeconds)
        while inFlight > 0 && state.wait(until: deadline) {}
        let abandoned = inFlight
        state.unlock()
        logger.event("stopped", ["route": handler.route.rawValue, "abandoned": String(abandoned)])
        return 0
    }

    /// Stops accepting; safe to call from any thread, more than once.
    func stop() {
        let first = state.withLock {
            defer { stopping = true }
            return !stopping
        }
        if first { Syscalls.writeAll(wake.write, [1]) }
    }

    private func acceptLoop() {
        defer {
            state.withLock {
                runningAcceptors -= 1
                state.broadcast()
            }
        }
        let waiter: Int32
        do {
            waiter = try Syscalls.makeAcceptWaiter(listenFD: listenFD, wakeFD: wake.read)
        } catch {
            logger.event("acceptor_failed", ["detail": error.description])
            stop()
            return
        }
        defer { Syscalls.close(waiter) }
        while !Syscalls.waitReadable(epollFD: waiter, wakeFD: wake.read) {
            let request = Syscalls.fastCGIMakeRequest(listenFD: listenFD)
            let status = Syscalls.fastCGIAccept(request)
            guard status == 0 else {
                Syscalls.fastCGIDiscard(request)
                if status != -EAGAIN && status != -EWOULDBLOCK && status != -EINTR {
                    // EMFILE and the like: back off instead of spinning; the connection waits in the backlog.
                    Syscalls.sleep(milliseconds: 10)
                }
                continue
            }
            state.withLock { inFlight += 1 }
            serve(request)
        }
    }

    private func serve(_ request: UnsafeMutablePointer<FCGX_Request>) {
        let params = Syscalls.fastCGIParams(request)
        let isHead = params["REQUEST_METHOD"] == "HEAD"
        let connection = Connection(request)
        let hasBody = CGIRequest(environment: params).hasBody
        handler.handle(environment: params) { [self] response in
            let answer: @Sendable () -> Void = { [self] in
                if hasBody { Syscalls.fastCGIDrainInput(connection.request, limit: CGIRunner.drainLimit) }
                ResponseWriter.write(response, includeBody: !isHead) { Syscalls.fastCGIWrite(connection.request, $0) }
                Syscalls.fastCGIFinish(connection.request)
                state.withLock {
                    inFlight -= 1
                    // Only the draining main thread waits on the count; waking it for every
                    // request would cost a context switch each.
                    if stopping { state.broadcast() }
                }
            }
            // A small answer with no request body to read goes straight into the connection's send
            // buffer (208 KiB on a Unix socket by default; on loopback TCP the peer's buffer takes it
            // at once): written here, it costs no hand-off. Anything else may wait on nginx, so it
            // moves to a Dispatch worker and never holds up the thread that called back, which may be
            // the upstream session's delegate queue.
            if !hasBody && response.body.count <= Self.inlineAnswerLimit {
                answer()
            } else {
                DispatchQueue.global().async(execute: answer)
            }
        }
    }

    /// The largest body written on the thread that produced the answer (libfcgi adds 8 bytes of
    /// framing per 64 KiB record).
    static let inlineAnswerLimit = 64 * 1024

    /// Carries a request pointer to the thread that finishes it; only one thread uses it at a time.
    private struct Connection: @unchecked Sendable {
        let request: UnsafeMutablePointer<FCGX_Request>
        init(_ request: UnsafeMutablePointer<FCGX_Request>) { self.request = request }
    }
}
