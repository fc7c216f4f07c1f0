import Foundation

/// The whole program behind `zw-bundle` and `zw-token`: pick the mode, configure, serve.
public enum ProxyMain {
    /// Runs `route` as this process's program and exits.
    public static func run(route: Route) -> Never {
        Syscalls.ignoreBrokenPipe()
        let arguments = Array(CommandLine.arguments.dropFirst())
        var environment = Syscalls.processEnvironment()
        let mode: ServerMode
        var terminationFD: Int32 = -1
        do {
            mode = try ServerMode.detect(
                arguments: arguments, environment: environment, processID: Syscalls.processID(),
                isListeningSocket: Syscalls.isListeningSocket)
        } catch {
            RequestLogger.standardError.event("usage_error", ["problem": error.description])
            Syscalls.writeAll(
                2, Array("usage: zw-\(route.rawValue) [--listen PATH|HOST:PORT [--socket-mode 660]]\n".utf8))
            Syscalls.exit(2)
        }
        if mode == .cgi {
            // Everything below reads `environment`. The request's headers (HTTP_PROXY among them:
            // httpoxy) and the settings leave the process environment, so no library sees them, and
            // URLSession's start-up, which builds `ProcessInfo.environment` several times (~90,000
            // instructions a variable), runs on what is left: PATH, proxy and certificate settings,
            // the CGI meta-variables.
            Syscalls.unsetEnvironment(
                environment.keys.filter { $0.hasPrefix("HTTP_") || $0.hasPrefix("ZEROWEIGHT_") })
            // httpoxy: a client's `Proxy:` header must never steer the upstream call.
            environment["HTTP_PROXY"] = nil
        } else {
            // As early as possible: from here on SIGTERM means "drain and exit 0", never a kill.
            do { terminationFD = try Syscalls.catchTermination() } catch {
                RequestLogger.standardError.event("signal_setup_failed", ["problem": error.description])
                Syscalls.exit(1)
            }
            Syscalls.unsetEnvironment(["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"])
        }
        let settings = Result { () throws(ConfigurationError) in try ProxySettings.load(environment: environment) }
        var logger = RequestLogger.standardError
        if case .success(let loaded) = settings {
            do { logger = try RequestLogger.open(loaded.log) } catch {
                logger.event("log_unavailable", ["problem": error.description])
            }
        }
        let timeout = (try? settings.get())?.upstream.timeout ?? ProxyConfiguration.defaultTimeout
        let handler = ProxyHandler(
            route: route, settings: settings, transport: URLSessionTransport(), logger: logger,
            rateLimiter: (try? settings.get())?.rateLimits.makeLimiter())

        switch mode {
        case .cgi:
            Syscalls.exit(CGIRunner.run(handler: handler, environment: environment, deadline: timeout))
        case .fastCGI(let fd):
            if case .failure(let problem) = settings {
                logger.event("misconfigured", ["problem": problem.description])
            }
            Syscalls.exit(
                serve(fd: fd, handler: handler, logger: logger, timeout: timeout, terminationFD: terminationFD))
        case .listen(let address, let socketMode):
            if case .failure(let problem) = settings {
                logger.event("misconfigured", ["problem": problem.description])
            }
            let fd: Int32
            do {
                switch address {
                case .unix(let path): fd = try Syscalls.listenUnix(path: path, mode: socketMode, backlog: 1024)
                case .tcp(let host, let port): fd = try Syscalls.listenTCP(host: host, port: port, backlog: 1024)
                }
            } catch {
                logger.event("listen_failed", ["problem": error.description])
                Syscalls.exit(1)
            }
            let code = serve(fd: fd, handler: handler, logger: logger, timeout: timeout, terminationFD: terminationFD)
            if case .unix(let path) = address { Syscalls.unlink(path) }
            Syscalls.exit(code)
        }
    }

    private static func serve(
        fd: Int32, handler: ProxyHandler, logger: RequestLogger, timeout: Double, terminationFD: Int32
    ) -> Int32 {
        do {
            let server = try FastCGIServer(
                listenFD: fd, handler: handler, logger: logger, drainSeconds: timeout + 2, terminationFD: terminationFD)
            return server.run()
        } catch {
            logger.event("fastcgi_failed", ["problem": error.description])
            return 1
        }
    }
}
