import Testing

@testable import ZeroWeightProxy

@Suite struct QueryParametersTests {
    private let allowed: Set<String> = ["avatar_id", "name", "room"]

    private func parse(_ query: String) -> Result<QueryParameters, ProxyError> {
        Result { () throws(ProxyError) in try QueryParameters(parsing: query, allowed: allowed) }
    }

    private func values(_ query: String) throws -> [String: String] {
        let parameters = try parse(query).get()
        var values: [String: String] = [:]
        for name in allowed { values[name] = parameters[name] }
        return values
    }

    @Test(
        arguments: [
            ("", [:]),
            ("name=Alice", ["name": "Alice"]),
            ("name=Alice+Smith", ["name": "Alice Smith"]),
            ("name=Alice%20Smith", ["name": "Alice Smith"]),
            ("name=a%2Bb", ["name": "a+b"]),
            ("name=Zo%C3%AB", ["name": "Zoë"]),
            ("name=%F0%9F%91%8B", ["name": "👋"]),
            ("name=a=b", ["name": "a=b"]),
            ("name=Alice%26room%3Dx", ["name": "Alice&room=x"]),
            ("na%6De=x", ["name": "x"]),
            ("avatar%5Fid=abc", ["avatar_id": "abc"]),
            ("avatar_id=abc&name=Bob&room=r1", ["avatar_id": "abc", "name": "Bob", "room": "r1"]),
        ] as [(String, [String: String])])
    func decodesNamesAndValues(query: String, expected: [String: String]) throws {
        #expect(try values(query) == expected)
    }

    @Test(
        arguments: [
            ("&", [:]),
            ("&&&", [:]),
            ("name=a&", ["name": "a"]),
            ("&name=a", ["name": "a"]),
            ("name=a&&room=b", ["name": "a", "room": "b"]),
            ("&&name=a&&&room=b&&", ["name": "a", "room": "b"]),
        ] as [(String, [String: String])])
    func skipsEmptyPairs(query: String, expected: [String: String]) throws {
        #expect(try values(query) == expected)
    }

    @Test(arguments: [
        "name=%", "name=%G1", "name=%2", "name=a%", "name=%FF", "name=%C0%80", "name=%ED%A0%80", "%=x", "na%G1me=x",
        "other=%",
    ])
    func refusesMalformedEscapes(query: String) {
        #expect(parse(query) == .failure(.malformedQuery))
    }

    @Test(arguments: [
        "other=1", "=x", "Name=x", "NAME=x", "name%00=x", "name =x", "avatar_id=a&api_key=k", "name=a&x", "+name=a",
    ])
    func refusesUnknownParameters(query: String) {
        #expect(parse(query) == .failure(.unknownParameter))
    }

    @Test(arguments: ["name=a&name=b", "name=a&name=a", "name=a&na%6De=b", "room=r&name=a&room=s"])
    func refusesDuplicateParameters(query: String) {
        #expect(parse(query) == .failure(.duplicateParameter))
    }

    @Test(arguments: ["name=", "name", "name=&room=r", "room=r&name", "name=&name="])
    func refusesEmptyParameters(query: String) {
        #expect(parse(query) == .failure(.emptyParameter))
    }

    @Test func acceptsExactly4096Bytes() throws {
        let query = "name=" + String(repeating: "a", count: 4091)
        #expect(query.utf8.count == 4096)
        let parameters = try parse(query).get()
        #expect(parameters["name"] == String(repeating: "a", count: 4091))
    }

    @Test(arguments: [
        "name=" + String(repeating: "a", count: 4092),
        String(repeating: "%", count: 4097),
        String(repeating: "&", count: 5000),
        "name=" + String(repeating: "é", count: 2046),
    ])
    func refusesMoreThan4096BytesBeforeParsing(query: String) {
        #expect(query.utf8.count > QueryParameters.maximumLength)
        #expect(parse(query) == .failure(.queryTooLong))
    }

    @Test func queryTooLongIs414() {
        #expect(QueryParameters.maximumLength == 4096)
        #expect(ProxyError.queryTooLong.status.code == 414)
        #expect(ProxyError.queryTooLong.code == "query_too_long")
    }

    @Test func absentNameIsNil() throws {
        let parameters = try parse("name=a").get()
        #expect(parameters["room"] == nil)
        #expect(parameters["other"] == nil)
    }

    @Test func noNameIsAllowedWhenTheSetIsEmpty() {
        #expect(throws: ProxyError.unknownParameter) { try QueryParameters(parsing: "a=1", allowed: []) }
        #expect(throws: Never.self) { try QueryParameters(parsing: "&&", allowed: []) }
    }
}
