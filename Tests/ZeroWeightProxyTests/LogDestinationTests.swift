import Testing

@testable import ZeroWeightProxy

@Suite struct LogDestinationTests {
    private func parse(_ text: String) -> Result<LogDestination, ConfigurationError> {
        Result { () throws(ConfigurationError) in
            try LogDestination.parse(SettingValues.Value(text: text, origin: "ZEROWEIGHT_PROXY_LOG"))
        }
    }

    @Test(arguments: [
        ("stderr", LogDestination.standardError),
        ("syslog", .syslog),
        ("/var/log/zeroweight-proxy/requests.log", .file(path: "/var/log/zeroweight-proxy/requests.log")),
        ("/tmp/a b.log", .file(path: "/tmp/a b.log")),
        ("/", .file(path: "/")),
    ])
    func accepted(text: String, destination: LogDestination) {
        #expect(parse(text) == .success(destination))
    }

    @Test(arguments: [
        "", "Stderr", "STDERR", "stdout", "journald", "syslog:daemon", " stderr", "requests.log", "./requests.log",
        "../requests.log", "~/requests.log", "file:///var/log/zw.log",
    ])
    func refusedNamesTheSetting(text: String) {
        #expect(
            parse(text)
                == .failure(
                    ConfigurationError(
                        setting: "ZEROWEIGHT_PROXY_LOG", problem: "must be stderr, syslog or an absolute path")))
    }

    @Test func theOriginIsTheOneGiven() {
        let origin = "/etc/zeroweight-proxy/zeroweight-proxy.conf:7 (log)"
        let result = Result { () throws(ConfigurationError) in
            try LogDestination.parse(SettingValues.Value(text: "relative", origin: origin))
        }
        #expect(
            result
                == .failure(ConfigurationError(setting: origin, problem: "must be stderr, syslog or an absolute path")))
    }
}
