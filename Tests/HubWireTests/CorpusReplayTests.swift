import HubWire
import Testing

/// Replays `Corpus/http-request/`, `Corpus/http-response/` and `Corpus/json/` on every test run:
/// every input that ever crashed, stalled or fooled one of these codecs (and a seed per rule),
/// so a fuzzer's finding is checked forever without the fuzzer (Corpus/README.md, docs/FUZZING.md).
/// The WebSocket corpus has its own suite, `WebSocketCorpusTests`.
@Suite struct CorpusReplayTests {
    static let requests = CorpusFile.all("http-request")
    static let responses = CorpusFile.all("http-response")
    static let documents = CorpusFile.all("json")

    /// `# limits: small`: the small limits of the http-request and http-response fuzz targets
    /// (Fuzz/<target>/main.swift), which let short inputs reach every limit.
    static let smallRequestLimits: HTTPLimits = {
        var limits = HTTPLimits(requestLineBytesMax: 64, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 64)
        limits.chunkLineBytesMax = 16
        return limits
    }()

    static let smallResponseLimits: HTTPResponseLimits = {
        var limits = HTTPResponseLimits(
            statusLineBytesMax: 32, headerBytesMax: 256, headerCountMax: 8, bodyBytesMax: 64)
        limits.chunkLineBytesMax = 16
        return limits
    }()

    /// Whether `file` asks for the fuzz targets' small limits; any other `# limits:` is a broken file.
    static func usesSmallLimits(_ file: CorpusFile) -> Bool {
        guard let value = file.directives["limits"] else { return false }
        precondition(value == "small", "\(file.name): unknown limits \(value)")
        return true
    }

    @Test func everyCorpusHasInputs() {
        #expect(Self.requests.count >= 5 && Self.responses.count >= 5 && Self.documents.count >= 5)
    }

    /// Read as a connection reads it: whole, byte by byte, split at every byte and in random
    /// chunks, each way with the same requests or the same error; `# expect:` is `ok` or the
    /// error's code.
    @Test(arguments: requests)
    func requestParsesTheSameWayWhateverTheReads(_ file: CorpusFile) {
        let limits = Self.usesSmallLimits(file) ? Self.smallRequestLimits : HTTPLimits()
        let outcome = HTTPRequestParserTests().feedEveryWay(file.bytes, limits: limits)
        let expect = file.directive("expect")
        #expect(outcome.failure?.code == (expect == "ok" ? nil : expect), "\(outcome)")
    }

    /// Read as the outbound client reads a connection, then closed; same rules as requests.
    @Test(arguments: responses)
    func responseParsesTheSameWayWhateverTheReads(_ file: CorpusFile) {
        let limits = Self.usesSmallLimits(file) ? Self.smallResponseLimits : HTTPResponseLimits()
        let outcome = HTTPResponseParserTests.feedEveryWay(
            file.bytes, limits: limits, closes: true, sourceLocation: #_sourceLocation)
        let expect = file.directive("expect")
        #expect(outcome.failure == (expect == "ok" ? nil : expect), "\(outcome)")
        if expect == "ok" { #expect(!outcome.responses.isEmpty) }
    }

    /// `# expect:` is `ok` or `error`. A document that parses serialises to bytes that parse back
    /// to the same serialisation.
    @Test(arguments: documents)
    func documentParsesAsExpectedAndRoundTrips(_ file: CorpusFile) throws {
        let expect = file.directive("expect")
        precondition(expect == "ok" || expect == "error", "\(file.name): expect ok or error")
        let parsed = Result { () throws(JSONError) in try JSONParser.parse(file.bytes) }
        guard case .success(let document) = parsed else {
            #expect(expect == "error", "\(parsed)")
            return
        }
        #expect(expect == "ok")
        let serialised = document.bytes
        #expect(try JSONParser.parse(serialised).bytes == serialised)
    }
}
