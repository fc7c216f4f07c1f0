import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct ResponseWriterTests {
    private let response = ProxyResponse(status: .ok, body: Data(#"{"a":1}"#.utf8))

    private func written(_ response: ProxyResponse, includeBody: Bool) -> (ok: Bool, bytes: [UInt8], writes: Int) {
        var bytes: [UInt8] = []
        var writes = 0
        let ok = ResponseWriter.write(response, includeBody: includeBody) { buffer in
            bytes.append(contentsOf: buffer)
            writes += 1
            return true
        }
        return (ok, bytes, writes)
    }

    @Test func getWritesHeadThenBody() {
        let (ok, bytes, writes) = written(response, includeBody: true)
        #expect(ok)
        #expect(bytes == Array((response.cgiHead() + #"{"a":1}"#).utf8))
        #expect(writes == 2)
    }

    @Test func headWritesOnlyTheHead() {
        let (ok, bytes, writes) = written(response, includeBody: false)
        #expect(ok)
        #expect(bytes == Array(response.cgiHead().utf8))
        #expect(String(decoding: bytes, as: UTF8.self).contains("Content-Length: 7\r\n"))
        #expect(writes == 1)
    }

    @Test func emptyBodyIsOneWrite() {
        let (ok, bytes, writes) = written(ProxyResponse(status: .ok, body: Data()), includeBody: true)
        #expect(ok)
        #expect(bytes == Array(ProxyResponse(status: .ok, body: Data()).cgiHead().utf8))
        #expect(writes == 1)
    }

    @Test func stopsWhenThePeerIsGone() {
        var writes = 0
        let ok = ResponseWriter.write(response, includeBody: true) { _ in
            writes += 1
            return false
        }
        #expect(!ok)
        #expect(writes == 1)
    }

    @Test func reportsAFailedBodyWrite() {
        var writes = 0
        let ok = ResponseWriter.write(response, includeBody: true) { _ in
            writes += 1
            return writes == 1
        }
        #expect(!ok)
        #expect(writes == 2)
    }
}
