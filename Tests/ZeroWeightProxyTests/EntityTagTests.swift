import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct EntityTagTests {
    /// `{"a":1}`: base64url of the first 16 bytes of its SHA-256, computed with Python's hashlib.
    private let tag = EntityTag(of: Data(#"{"a":1}"#.utf8))

    @Test func theTagIsTheFirst128BitsOfTheSHA256InBase64URL() {
        #expect(tag.value == #""AVq9f1zFei3ZS3WQ8ErYCA""#)
        #expect(EntityTag(of: Data()).value == #""47DEQpj8HBSa-_TImW-5JA""#)
        #expect(EntityTag(of: Data(#"{"a":2}"#.utf8)) != tag)
    }

    @Test(arguments: [
        (#""AVq9f1zFei3ZS3WQ8ErYCA""#, true),
        (#"W/"AVq9f1zFei3ZS3WQ8ErYCA""#, true),
        ("*", true),
        (#""other", "AVq9f1zFei3ZS3WQ8ErYCA""#, true),
        (#"  "other" ,W/"AVq9f1zFei3ZS3WQ8ErYCA" "#, true),
        (#""other""#, false),
        (#""AVq9f1zFei3ZS3WQ8ErYCA"#, false),
        ("AVq9f1zFei3ZS3WQ8ErYCA", false),
        (#"w/"AVq9f1zFei3ZS3WQ8ErYCA""#, false),
        (#"garbage, "AVq9f1zFei3ZS3WQ8ErYCA""#, false),
        ("", false),
        (#""""#, false),
    ])
    func ifNoneMatchComparesWeaklyAndIgnoresMalformedFields(field: String, matches: Bool) {
        #expect(tag.isMatched(byIfNoneMatch: field) == matches)
    }

    @Test func anOversizedFieldIsNotRead() {
        let padded = String(repeating: #""x", "#, count: 2000) + tag.value
        #expect(padded.utf8.count > 8192)
        #expect(!tag.isMatched(byIfNoneMatch: padded))
    }

    @Test(arguments: [
        #""AVq9f1zFei3ZS3WQ8ErYCA""#
    ])
    func storedTagsReadBack(text: String) {
        #expect(EntityTag(stored: text)?.value == text)
    }

    @Test(arguments: [
        "AVq9f1zFei3ZS3WQ8ErYCA", #""AVq9f1zFei3ZS3WQ8ErYC""#, #""AVq9f1zFei3ZS3WQ8ErYCAA""#,
        #""AVq9f1zFei3ZS3WQ8ErYC+""#,
        #""AVq9f1zFei3ZS3WQ8ErYCB""#, "\"\"", "\"",
    ])
    func malformedStoredTagsAreRefused(text: String) {
        #expect(EntityTag(stored: text) == nil)
    }
}

@Suite struct CachedBundleTests {
    private let body = Data(#"{"avatar":"abc","parts":[1,2,3]}"#.utf8)

    @Test func encodingReadsBackTheSameBundle() {
        let bundle = CachedBundle(body: body)
        let encoded = bundle.encoded()
        #expect(encoded.starts(with: Data(("zwb1 " + bundle.etag.value + "\n").utf8)))
        #expect(CachedBundle(decoding: encoded) == bundle)
        let empty = CachedBundle(body: Data())
        #expect(CachedBundle(decoding: empty.encoded()) == empty)
    }

    @Test(arguments: [
        Data(), Data("zwb1 ".utf8), Data("zwb2 \"AVq9f1zFei3ZS3WQ8ErYCA\"\n{}".utf8),
        Data("zwb1 \"AVq9f1zFei3ZS3WQ8ErYCA\"".utf8), Data("zwb1 nonsense\n{}".utf8), Data([0xFF, 0xFE]),
    ])
    func anythingElseStoredIsAMiss(stored: Data) {
        #expect(CachedBundle(decoding: stored) == nil)
    }

    @Test func theAnswerIs200WithTheTagOr304WhenTheCallerHasIt() {
        let bundle = CachedBundle(body: body)
        let tag = HTTPHeader("ETag", bundle.etag.value)
        #expect(
            bundle.response(ifNoneMatch: nil)
                == ProxyResponse(status: .ok, headers: [tag], body: body, cacheControl: "private, no-cache"))
        #expect(
            bundle.response(ifNoneMatch: #""stale""#)
                == ProxyResponse(status: .ok, headers: [tag], body: body, cacheControl: "private, no-cache"))
        let notModified = bundle.response(ifNoneMatch: bundle.etag.value)
        #expect(
            notModified
                == ProxyResponse(status: .notModified, headers: [tag], body: Data(), cacheControl: "private, no-cache"))
        #expect(
            notModified.cgiHead()
                == "Status: 304 Not Modified\r\nX-Content-Type-Options: nosniff\r\nCache-Control: private, no-cache\r\n"
                + "ETag: \(bundle.etag.value)\r\n\r\n")
    }
}
