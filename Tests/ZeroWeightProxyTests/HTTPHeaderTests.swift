import Testing

@testable import ZeroWeightProxy

@Suite struct HTTPHeaderTests {
    @Test(arguments: [("Allow", "GET, HEAD"), ("Retry-After", "60"), ("X-Empty", ""), ("X-Unicode", "Zoë")])
    func keepsNameAndValue(name: String, value: String) {
        let header = HTTPHeader(name, value)
        #expect(header.name == name)
        #expect(header.value == value)
    }

    @Test func carriageReturnInAValueIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A", "a\r\nSet-Cookie: x=1") }
    }

    @Test func lineFeedInAValueIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A", "a\nb") }
    }

    @Test func nulInAValueIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A", "a\u{0}b") }
    }

    @Test func emptyNameIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("", "v") }
    }

    @Test func lineBreakInANameIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A\r\nX-B", "v") }
    }

    @Test func colonInANameIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A: b", "v") }
    }

    @Test func nulInANameIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) { _ = HTTPHeader("X-A\u{0}", "v") }
    }
}
