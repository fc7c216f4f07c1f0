import Testing

@testable import ZeroWeightProxy

@Suite struct ServerModeTests {
    private static let pid: Int32 = 4242

    /// Detects the mode; `listening` lists the descriptors that are listening sockets.
    private func detect(
        _ arguments: [String], environment: [String: String] = [:], listening: Set<Int32> = []
    ) -> (mode: Result<ServerMode, UsageError>, asked: [Int32]) {
        var asked: [Int32] = []
        let mode = Result { () throws(UsageError) in
            try ServerMode.detect(arguments: arguments, environment: environment, processID: Self.pid) { fd in
                asked.append(fd)
                return listening.contains(fd)
            }
        }
        return (mode, asked)
    }

    @Test func plainProcessIsCGI() {
        let (mode, asked) = detect([])
        #expect(mode == .success(.cgi))
        #expect(asked == [0])
    }

    @Test func listeningSocketOnFD0IsFastCGI() {
        let (mode, asked) = detect([], listening: [0])
        #expect(mode == .success(.fastCGI(fd: 0)))
        #expect(asked == [0])
    }

    @Test func listeningSocketElsewhereIsIgnored() {
        #expect(detect([], listening: [3]).mode == .success(.cgi))
    }

    @Test(arguments: ["1", "2"])
    func systemdSocketForThisProcessIsFD3(count: String) {
        let (mode, asked) = detect([], environment: ["LISTEN_FDS": count, "LISTEN_PID": "4242"])
        #expect(mode == .success(.fastCGI(fd: 3)))
        #expect(asked.isEmpty)
    }

    @Test(arguments: [
        ["LISTEN_FDS": "1", "LISTEN_PID": "4243"],
        ["LISTEN_FDS": "1", "LISTEN_PID": "1"],
        ["LISTEN_FDS": "1"],
        ["LISTEN_FDS": "1", "LISTEN_PID": ""],
        ["LISTEN_FDS": "1", "LISTEN_PID": "4242 "],
        ["LISTEN_FDS": "1", "LISTEN_PID": "abc"],
        ["LISTEN_FDS": "0", "LISTEN_PID": "4242"],
        ["LISTEN_FDS": "-1", "LISTEN_PID": "4242"],
        ["LISTEN_FDS": "", "LISTEN_PID": "4242"],
        ["LISTEN_FDS": "x", "LISTEN_PID": "4242"],
        ["LISTEN_PID": "4242"],
    ])
    func systemdVariablesForAnotherProcessAreIgnored(environment: [String: String]) {
        #expect(detect([], environment: environment).mode == .success(.cgi))
        #expect(detect([], environment: environment, listening: [0]).mode == .success(.fastCGI(fd: 0)))
    }

    @Test(arguments: [
        (["--listen", "/run/zw/bundle.sock"], ServerMode.listen(.unix(path: "/run/zw/bundle.sock"), mode: 0o660)),
        (["--listen", "127.0.0.1:9000"], .listen(.tcp(host: "127.0.0.1", port: 9000), mode: 0o660)),
        (["--listen", ":9000"], .listen(.tcp(host: "127.0.0.1", port: 9000), mode: 0o660)),
        (["--listen", "[::1]:9000"], .listen(.tcp(host: "::1", port: 9000), mode: 0o660)),
        (["--listen", "localhost:1"], .listen(.tcp(host: "localhost", port: 1), mode: 0o660)),
        (["--listen", "/s", "--socket-mode", "600"], .listen(.unix(path: "/s"), mode: 0o600)),
        (["--socket-mode", "666", "--listen", "/s"], .listen(.unix(path: "/s"), mode: 0o666)),
        (["--listen", "/s", "--socket-mode", "0"], .listen(.unix(path: "/s"), mode: 0)),
        (["--listen", "/s", "--socket-mode", "777"], .listen(.unix(path: "/s"), mode: 0o777)),
        (["--listen", "/a", "--listen", "/b"], .listen(.unix(path: "/b"), mode: 0o660)),
    ])
    func listenArguments(arguments: [String], expected: ServerMode) {
        let (mode, asked) = detect(
            arguments, environment: ["LISTEN_FDS": "1", "LISTEN_PID": "4242"], listening: [0])
        #expect(mode == .success(expected))
        #expect(asked.isEmpty)
    }

    @Test(arguments: [
        (["--listen"], "--listen takes a Unix socket path or host:port"),
        (["--listen", "relative.sock"], "--listen takes a Unix socket path or host:port"),
        (["--listen", ""], "--listen takes a Unix socket path or host:port"),
        (["--listen", "host"], "--listen takes a Unix socket path or host:port"),
        (["--listen", "host:0"], "--listen takes a Unix socket path or host:port"),
        (["--listen", "host:65536"], "--listen takes a Unix socket path or host:port"),
        (["--listen", "::1:9000"], "--listen takes a Unix socket path or host:port"),
        (["--listen", "--socket-mode", "600"], "--listen takes a Unix socket path or host:port"),
        (["--socket-mode"], "--socket-mode takes an octal mode such as 660"),
        (["--listen", "/s", "--socket-mode", "800"], "--socket-mode takes an octal mode such as 660"),
        (["--listen", "/s", "--socket-mode", "1000"], "--socket-mode takes an octal mode such as 660"),
        (["--listen", "/s", "--socket-mode", "rw"], "--socket-mode takes an octal mode such as 660"),
        (["--listen", "/s", "--socket-mode", "-1"], "--socket-mode takes an octal mode such as 660"),
        (["--listen", "/s", "--socket-mode", ""], "--socket-mode takes an octal mode such as 660"),
        (["--socket-mode", "600"], "--socket-mode only goes with --listen PATH"),
        (["--help"], "unknown argument --help"),
        (["-l", "/s"], "unknown argument -l"),
        (["--listen=/s"], "unknown argument --listen=/s"),
        (["/s"], "unknown argument /s"),
        ([""], "unknown argument "),
        (["--listen", "/s", "extra"], "unknown argument extra"),
        ([String(repeating: "x", count: 100)], "unknown argument " + String(repeating: "x", count: 64)),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], message: String) {
        let (mode, asked) = detect(arguments, listening: [0])
        #expect(mode == .failure(UsageError(message)))
        #expect(asked.isEmpty)
    }
}
