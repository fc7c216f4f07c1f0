import CFastCGI
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The write end of the termination pipe, for the signal handler (which cannot capture context).
nonisolated(unsafe) private var terminationPipe: Int32 = -1

/// Every C call the proxy makes: libfcgi and the POSIX socket, signal and file calls.
///
/// Callers above this file never touch C; failures come back as `SystemError` or a plain result.
enum Syscalls {
    // MARK: libfcgi

    /// `FCGX_Init`: call once, before any thread uses libfcgi.
    static func fastCGIInitialize() -> Bool {
        FCGX_Init() == 0
    }

    /// A fresh `FCGX_Request` bound to `listenFD` (`FCGX_InitRequest`); release with `fastCGIFinish`.
    static func fastCGIMakeRequest(listenFD: Int32) -> UnsafeMutablePointer<FCGX_Request> {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        FCGX_InitRequest(request, listenFD, 0)
        return request
    }

    /// `FCGX_Accept_r`: accepts one connection and reads its params; 0 or a negative errno.
    static func fastCGIAccept(_ request: UnsafeMutablePointer<FCGX_Request>) -> Int32 {
        FCGX_Accept_r(request)
    }

    /// Copies the request's params out of libfcgi (they die at `FCGX_Finish_r`).
    static func fastCGIParams(_ request: UnsafeMutablePointer<FCGX_Request>) -> [String: String] {
        guard let cursor = request.pointee.envp else { return [:] }
        return keyValuePairs(cursor)
    }

    /// This process's environment, read from `environ` itself: Foundation's
    /// `ProcessInfo.environment` drops a variable whose value starts with a combining mark.
    static func processEnvironment() -> [String: String] {
        keyValuePairs(environ)
    }

    /// `NAME=value` C strings up to a NULL entry, split at the first `=` byte (a Character search
    /// skips an `=` that a combining mark follows); a later duplicate wins.
    private static func keyValuePairs(_ start: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> [String: String] {
        var pairs: [String: String] = [:]
        var cursor = start
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                pairs[String(pair[..<equals])] = String(pair[pair.utf8.index(after: equals)...])
            }
            cursor += 1
        }
        return pairs
    }

    /// Writes `bytes` to the request's stdout in chunks (`FCGX_PutStr`); false once the client is gone.
    static func fastCGIWrite(_ request: UnsafeMutablePointer<FCGX_Request>, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let chunk = min(64 << 10, bytes.count - offset)
            let written = FCGX_PutStr(
                bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(chunk),
                request.pointee.out)
            guard written == chunk else { return false }
            offset += chunk
        }
        return true
    }

    /// Reads and drops up to `limit` bytes of the request body (`FCGX_GetStr`), so the web server's
    /// write of a body the handler refuses does not fail before the answer is read.
    static func fastCGIDrainInput(_ request: UnsafeMutablePointer<FCGX_Request>, limit: Int) {
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        var total = 0
        while total < limit {
            let count = buffer.withUnsafeMutableBufferPointer {
                FCGX_GetStr($0.baseAddress, Int32($0.count), request.pointee.in)
            }
            guard count > 0 else { return }
            total += Int(count)
        }
    }

    /// `FCGX_Finish_r`, then frees the request allocated by `fastCGIMakeRequest`.
    static func fastCGIFinish(_ request: UnsafeMutablePointer<FCGX_Request>) {
        FCGX_Finish_r(request)
        request.deallocate()
    }

    /// Frees a request whose accept failed (`FCGX_Free` with close).
    static func fastCGIDiscard(_ request: UnsafeMutablePointer<FCGX_Request>) {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    // MARK: File descriptors

    /// Writes all of `bytes` to `fd`, retrying short writes and `EINTR`; false on any other error.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress!.advanced(by: offset), bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Reads and drops up to `limit` bytes from `fd` (a CGI request body the handler refuses), so the
    /// web server's write into the pipe does not fail before it reads the answer.
    static func drain(_ fd: Int32, limit: Int) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var total = 0
        while total < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            total += count
        }
    }

    /// Whether `fd` is a socket in the listening state (`getsockopt(SO_ACCEPTCONN)`).
    static func isListeningSocket(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0
    }

    /// Sets `O_NONBLOCK` on `fd`.
    static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SystemError("fcntl", errno) }
    }

    /// A close-on-exec pipe: (read end, write end).
    static func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SystemError("pipe", errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// An epoll instance for one acceptor thread: `listenFD` with `EPOLLEXCLUSIVE`, so a new
    /// connection wakes one of the threads waiting on it instead of all of them, and `wakeFD`
    /// without, so the stop byte wakes every thread.
    static func makeAcceptWaiter(listenFD: Int32, wakeFD: Int32) throws(SystemError) -> Int32 {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SystemError("epoll_create1", errno) }
        var listenEvent = epoll_event(
            events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, data: epoll_data_t(fd: listenFD))
        var wakeEvent = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeFD))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, listenFD, &listenEvent) == 0,
            epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &wakeEvent) == 0
        else {
            let error = SystemError("epoll_ctl", errno)
            _ = Glibc.close(epollFD)
            throw error
        }
        return epollFD
    }

    /// Waits on an acceptor's epoll instance; true when `wakeFD` is readable (time to stop) or the
    /// wait failed, false when a connection may be waiting.
    static func waitReadable(epollFD: Int32, wakeFD: Int32) -> Bool {
        var events = [epoll_event](repeating: epoll_event(), count: 2)
        while true {
            let ready = epoll_wait(epollFD, &events, 2, -1)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 { return true }
            return events.prefix(Int(ready)).contains { $0.data.fd == wakeFD }
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }

    static func processID() -> Int32 { getpid() }

    /// Removes each of `names` from the process environment (`unsetenv`).
    static func unsetEnvironment(_ names: some Sequence<String>) {
        for name in names { unsetenv(name) }
    }

    static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    static func sleep(milliseconds: Int) { usleep(UInt32(milliseconds * 1000)) }

    // MARK: Signals

    /// Ignores SIGPIPE so a vanished client is a failed write, not a dead process.
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Makes SIGTERM and SIGINT write a byte to a pipe instead of killing the process, and returns
    /// the pipe's read end for `waitForTermination(_:)`.
    ///
    /// A handler (`sigaction` with `SA_RESTART`, so other threads' reads and writes carry on) rather
    /// than a blocked mask, because a signal sent to the process goes to any thread that does not
    /// block it, and the runtime may have started threads before this runs. The handler only calls
    /// `write(2)`, which is async-signal-safe.
    static func catchTermination() throws(SystemError) -> Int32 {
        let (read, write) = try makePipe()
        terminationPipe = write
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = Glibc.write(terminationPipe, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        return read
    }

    /// Blocks until `catchTermination()`'s handler has run.
    static func waitForTermination(_ readFD: Int32) {
        var byte: UInt8 = 0
        while Glibc.read(readFD, &byte, 1) < 0 && errno == EINTR {}
    }

    /// Whether `path` is a directory this process may create files in (`access(W_OK | X_OK)`).
    static func isWritableDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR && access(path, W_OK | X_OK) == 0
    }

    // MARK: Logs

    /// Opens `path` for appending (`O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC`, mode 0640).
    static func openForAppending(_ path: String) throws(SystemError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemError("open \(path)", errno) }
        return fd
    }

    /// `openlog("zeroweight-proxy", LOG_PID, LOG_DAEMON)`.
    static func openSyslog() {
        openlog("zeroweight-proxy", LOG_PID, LOG_DAEMON)
    }

    /// One `syslog(3)` message at `LOG_INFO` (through `vsyslog`, as `syslog` is variadic).
    static func syslogInfo(_ message: String) {
        message.withCString { text in
            withVaList([text]) { vsyslog(LOG_INFO, "%s", $0) }
        }
    }

    // MARK: Addresses

    /// The 4 bytes of a dotted-quad IPv4 address (`inet_pton(AF_INET)`), nil for anything else.
    static func parseIPv4(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The 16 bytes of an IPv6 address (`inet_pton(AF_INET6)`), nil for anything else.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    // MARK: Binding

    /// A listening Unix socket at `path` with `mode`, replacing a stale socket file (never another file).
    static func listenUnix(path: String, mode: mode_t, backlog: Int32) throws(SystemError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw SystemError("bind \(path): path too long", ENAMETOOLONG) }
        var status = stat()
        if lstat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFSOCK else { throw SystemError("bind \(path): not a socket", EEXIST) }
            _ = Glibc.unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", errno) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SystemError("bind \(path)", code)
        }
        guard chmod(path, mode) == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SystemError("listen \(path)", code)
        }
        return fd
    }

    /// A listening TCP socket on `host:port` (IPv4 or IPv6 literal, or a name such as localhost).
    static func listenTCP(host: String, port: UInt16, backlog: Int32) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SystemError("resolve \(host): \(String(cString: gai_strerror(status)))", EINVAL)
        }
        defer { freeaddrinfo(list) }
        let info = first.pointee
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard fd >= 0 else { throw SystemError("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.ai_addr, info.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SystemError("bind \(host):\(port)", code)
        }
        return fd
    }
}

/// A failed system call: what was attempted and `errno`.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    init(_ operation: String, _ code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
