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

    // MARK: Log files

    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appending(path: "zw-log-\(UUID().uuidString).log").path
    }

    private func entry(_ status: Int) -> RequestLogEntry {
        RequestLogEntry(
            time: Date(timeIntervalSince1970: 0), route: .token, method: "GET", status: status, durationMilliseconds: 1,
            clientAddress: "203.0.113.7")
    }

    @Test func aFileLoggerAppendsWholeLinesToWhatIsThere() throws {
        let path = temporaryPath()
        try Data("earlier line\n".utf8).write(to: URL(filePath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let logger = try RequestLogger.open(.file(path: path))
        logger.log(entry(200))
        logger.log(entry(404))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "earlier line\n" + entry(200).jsonLine() + entry(404).jsonLine())
    }

    @Test func aFileLoggerCreatesTheFile() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        try RequestLogger.open(.file(path: path)).event("started", ["route": "token"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix(#"{"time":""#))
        #expect(text.hasSuffix(#"","event":"started","route":"token"}"# + "\n"))
        #expect(text.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1)
    }

    @Test func concurrentFileLoggersNeverInterleaveLines() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loggers = [try RequestLogger.open(.file(path: path)), try RequestLogger.open(.file(path: path))]
        var long = entry(200)
        long.detail = String(repeating: "d", count: 3000)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { [long] in loggers[index % 2].log(long) }
            }
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 201)
        #expect(lines.last == "")
        #expect(lines.dropLast().allSatisfy { $0 + "\n" == long.jsonLine() })
    }

    @Test func aFileInAMissingDirectoryIsASystemError() {
        let path = temporaryPath() + "/requests.log"
        #expect(throws: SystemError("open \(path)", ENOENT)) {
            _ = try RequestLogger.open(.file(path: path))
        }
    }
}
