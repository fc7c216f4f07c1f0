import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Every hiredis call the proxy makes: blocking connections over TCP or a Unix socket, binary-safe
/// commands, socket timeouts.
///
/// Callers above this file never touch C: a command's arguments go in as byte arrays and its reply
/// comes back as a `HiredisReply` value (the C reply is copied, then freed with `freeReplyObject`);
/// a failed connection or command is a `HiredisError`. After any `HiredisError` the connection is
/// unusable and must be closed with `close(_:)`.
enum HiredisCalls {
    /// A blocking hiredis connection (`redisContext`), closed with `close(_:)`.
    typealias Connection = UnsafeMutablePointer<redisContext>

    /// `redisConnectWithTimeout`: a TCP connection to `host:port`, waiting at most `timeout` seconds.
    static func connect(host: String, port: Int, timeout: Double) throws(HiredisError) -> Connection {
        let context = host.withCString { redisConnectWithTimeout($0, Int32(port), timeval(seconds: timeout)) }
        return try checked(context, "connect \(host):\(port)")
    }

    /// `redisConnectUnixWithTimeout`: a Unix-socket connection to `path`, waiting at most `timeout` seconds.
    static func connect(path: String, timeout: Double) throws(HiredisError) -> Connection {
        let context = path.withCString { redisConnectUnixWithTimeout($0, timeval(seconds: timeout)) }
        return try checked(context, "connect \(path)")
    }

    /// `redisSetTimeout`: how long each later read or write on `connection` may block.
    static func setTimeout(_ connection: Connection, _ seconds: Double) throws(HiredisError) {
        guard redisSetTimeout(connection, timeval(seconds: seconds)) == REDIS_OK else {
            throw HiredisError(connection, errno: errno, "set timeout")
        }
    }

    /// `redisCommandArgv`: sends one command with binary-safe `arguments` and waits for its reply.
    ///
    /// - Returns: the reply, copied out of hiredis (an error reply is `.error`, not a throw).
    /// - Throws: `HiredisError` when the command could not be written or its reply not read.
    static func command(_ connection: Connection, _ arguments: [[UInt8]]) throws(HiredisError) -> HiredisReply {
        // hiredis reads each argument as pointer plus length; an empty argument still needs a valid pointer.
        let buffers = arguments.map { bytes -> UnsafeMutableBufferPointer<CChar> in
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var pointers: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0.baseAddress) }
        let lengths = arguments.map(\.count)
        errno = 0
        let raw = pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { argvlen in
                redisCommandArgv(connection, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress)
            }
        }
        let code = errno
        guard let raw else { throw HiredisError(connection, errno: code, "command") }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return HiredisReply(reply.pointee)
    }

    /// Whether a read or write on `connection` failed (`err` set): it must be closed, not reused.
    static func hasFailed(_ connection: Connection) -> Bool {
        connection.pointee.err != 0
    }

    /// `redisFree`: closes the socket and frees the context.
    static func close(_ connection: Connection) {
        redisFree(connection)
    }

    /// The context, or a `HiredisError` from its `err`/`errstr` (a nil context: out of memory).
    private static func checked(_ context: Connection?, _ operation: String) throws(HiredisError) -> Connection {
        let code = errno
        guard let context else { throw HiredisError(timedOut: false, "\(operation): out of memory") }
        guard context.pointee.err == 0 else {
            let error = HiredisError(context, errno: code, operation)
            redisFree(context)
            throw error
        }
        return context
    }
}

/// A reply from Redis, copied out of hiredis's `redisReply`.
enum HiredisReply: Sendable, Hashable {
    /// A bulk string (`REDIS_REPLY_STRING`): any bytes.
    case string([UInt8])
    /// A status line such as `OK` (`REDIS_REPLY_STATUS`).
    case status(String)
    case integer(Int64)
    /// A missing value (`REDIS_REPLY_NIL`).
    case null
    /// An error reply such as `NOSCRIPT ...` (`REDIS_REPLY_ERROR`): the connection stays usable.
    case error(String)
    case array([HiredisReply])

    fileprivate init(_ reply: redisReply) {
        switch reply.type {
        case REDIS_REPLY_STRING:
            self = .string(Self.bytes(reply))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: Self.bytes(reply), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(reply.integer)
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: Self.bytes(reply), as: UTF8.self))
        case REDIS_REPLY_ARRAY:
            var elements: [HiredisReply] = []
            if let element = reply.element {
                for index in 0..<reply.elements {
                    elements.append(element[index].map { HiredisReply($0.pointee) } ?? .null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let text = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: text, count: reply.len))
    }
}

/// A hiredis connection or command that failed: the context's `errstr`, and whether it was a timeout.
struct HiredisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The socket timeout ran out (`EAGAIN` on a read or write, `ETIMEDOUT` on connect).
    let timedOut: Bool
    let detail: String

    init(timedOut: Bool, _ detail: String) {
        self.timedOut = timedOut
        self.detail = detail
    }

    /// Reads `err` and `errstr` from `context`; `code` is `errno` as it was right after the call.
    fileprivate init(_ context: HiredisCalls.Connection, errno code: Int32, _ operation: String) {
        let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let isIO = context.pointee.err == REDIS_ERR_IO
        self.timedOut = isIO && (code == EAGAIN || code == EWOULDBLOCK || code == ETIMEDOUT)
        self.detail = "\(operation): \(message.isEmpty ? "error \(context.pointee.err)" : message)"
    }

    var description: String { detail }
}

extension timeval {
    /// A `timeval` of `seconds` (at least one microsecond: zero would mean "no timeout" to the kernel).
    fileprivate init(seconds: Double) {
        let micros = max(1, Int((seconds * 1_000_000).rounded(.up)))
        self.init(tv_sec: micros / 1_000_000, tv_usec: micros % 1_000_000)
    }
}
