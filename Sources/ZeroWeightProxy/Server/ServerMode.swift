/// How a process serves: one CGI request, or a FastCGI loop on an inherited or bound socket.
public enum ServerMode: Sendable, Hashable {
    /// One request from the environment, answered on stdout.
    case cgi
    /// FastCGI on an inherited listening socket (fd 0 from spawn-fcgi or mod_fcgid, fd 3 from systemd).
    case fastCGI(fd: Int32)
    /// FastCGI on a socket the process binds itself (`--listen`).
    case listen(ListenAddress, mode: UInt32)

    /// Chooses the mode from the command line, the environment and what fd 0 is.
    ///
    /// - Parameters:
    ///   - arguments: the command-line arguments after the program name.
    ///   - environment: the process environment (`LISTEN_FDS`, `LISTEN_PID`).
    ///   - processID: this process's id, for `LISTEN_PID`.
    ///   - isListeningSocket: tells whether a descriptor is a listening socket.
    /// - Throws: `UsageError` for unknown or malformed arguments.
    public static func detect(
        arguments: [String], environment: [String: String], processID: Int32,
        isListeningSocket: (Int32) -> Bool
    ) throws(UsageError) -> ServerMode {
        var arguments = arguments[...]
        var listen: ListenAddress?
        var mode: UInt32?
        while let argument = arguments.popFirst() {
            switch argument {
            case "--listen":
                guard let value = arguments.popFirst(), let address = ListenAddress(value) else {
                    throw UsageError("--listen takes a Unix socket path or host:port")
                }
                listen = address
            case "--socket-mode":
                guard let value = arguments.popFirst(), let parsed = UInt32(value, radix: 8), parsed <= 0o777 else {
                    throw UsageError("--socket-mode takes an octal mode such as 660")
                }
                mode = parsed
            default:
                throw UsageError("unknown argument \(argument.prefix(64))")
            }
        }
        if let listen { return .listen(listen, mode: mode ?? 0o660) }
        if mode != nil { throw UsageError("--socket-mode only goes with --listen PATH") }
        if let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1,
            environment["LISTEN_PID"].flatMap(Int32.init) == processID
        {
            return .fastCGI(fd: 3)
        }
        return isListeningSocket(0) ? .fastCGI(fd: 0) : .cgi
    }
}

/// A command line the program cannot run with.
public struct UsageError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
