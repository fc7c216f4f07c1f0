import Foundation

/// Serves the one request of a CGI process: environment in, CGI answer on stdout.
enum CGIRunner {
    /// The most of a refused request body read before answering; past it the server may see a reset.
    static let drainLimit = 1 << 20

    /// Handles the request in `environment`, writes the answer to fd 1 and returns the exit code.
    static func run(handler: ProxyHandler, environment: [String: String], deadline: Double) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        let isHead = environment["REQUEST_METHOD"] == "HEAD"
        handler.handle(environment: environment) { response in
            if CGIRequest(environment: environment).hasBody { Syscalls.drain(0, limit: drainLimit) }
            ResponseWriter.write(response, includeBody: !isHead) { Syscalls.writeAll(1, $0) }
            done.signal()
        }
        // The transport always answers by its deadline; this only guards against a bug there.
        if done.wait(timeout: .now() + deadline + 5) == .timedOut {
            ResponseWriter.write(ProxyResponse(error: .internalError), includeBody: !isHead) {
                Syscalls.writeAll(1, $0)
            }
        }
        return 0
    }
}
