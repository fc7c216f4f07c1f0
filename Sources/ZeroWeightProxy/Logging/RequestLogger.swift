import Foundation

/// Writes one JSON object per line, each with a single `write(2)` so concurrent writers never interleave.
///
/// Fields are chosen by allowlist in `RequestLogEntry`; nothing here ever sees the API key.
public struct RequestLogger: Sendable {
    private let sink: @Sendable (String) -> Void

    /// A logger that hands each finished line (newline included) to `sink`.
    public init(sink: @escaping @Sendable (String) -> Void) {
        self.sink = sink
    }

    /// A logger writing to standard error, which nginx and Apache put in their error logs.
    public static let standardError = RequestLogger { line in Syscalls.writeAll(2, Array(line.utf8)) }

    /// A logger for `destination`.
    ///
    /// - Throws: `SystemError` when the log file cannot be opened.
    public static func open(_ destination: LogDestination) throws(SystemError) -> RequestLogger {
        switch destination {
        case .standardError:
            return .standardError
        case .file(let path):
            let fd = try Syscalls.openForAppending(path)
            return RequestLogger { line in Syscalls.writeAll(fd, Array(line.utf8)) }
        case .syslog:
            Syscalls.openSyslog()
            return RequestLogger { line in Syscalls.syslogInfo(String(line.dropLast())) }
        }
    }

    /// Logs one finished request.
    public func log(_ entry: RequestLogEntry) {
        sink(entry.jsonLine())
    }

    /// Logs an event that is not a request (start-up, shutdown, configuration problems).
    public func event(_ name: String, _ fields: [String: String] = [:]) {
        var line = #"{"time":"# + JSONText.quoted(RequestLogEntry.timestamp(Date())) + #","event":"#
        line += JSONText.quoted(name)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            line += "," + JSONText.quoted(key) + ":" + JSONText.quoted(value)
        }
        sink(line + "}\n")
    }
}
