import Foundation
import Testing

@testable import ZeroWeightProxy

/// Collects what a logger writes.
private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var all: [String] { lock.withLock { stored } }
}

@Suite struct RequestLoggerTests {
    @Test func logWritesTheEntryLineOnce() {
        let lines = Lines()
        let logger = RequestLogger { lines.append($0) }
        let entry = RequestLogEntry(
            time: Date(timeIntervalSince1970: 0), route: .bundle, method: "GET", status: 200, durationMilliseconds: 1,
            clientAddress: "::1")
        logger.log(entry)
        #expect(lines.all == [entry.jsonLine()])
    }

    @Test func eventHasSortedEscapedFields() throws {
        let lines = Lines()
        RequestLogger { lines.append($0) }.event("listening", ["route": "bundle", "pid": "42", "note": "a\"b\nc"])
        let line = try #require(lines.all.first)
        #expect(lines.all.count == 1)
        #expect(line.hasPrefix(#"{"time":""#))
        #expect(line.hasSuffix(#"","event":"listening","note":"a\"b\nc","pid":"42","route":"bundle"}"# + "\n"))
        #expect(JSONValidator().validate(Array(line.utf8)) == .object)
    }

    @Test func eventWithoutFields() throws {
        let lines = Lines()
        RequestLogger { lines.append($0) }.event("stopped")
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix(#"","event":"stopped"}"# + "\n"))
    }
}
