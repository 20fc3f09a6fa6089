import HubTestSupport
import HubWire
import Testing

/// One WebSocket corpus input: its bytes and what decoding them must produce (see Corpus/README.md).
struct CorpusEntry: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    /// nil: no error; else the close code of the error.
    let expectedCloseCode: UInt16?
    let limits: WebSocketLimits

    var testDescription: String { name }

    /// `# limits: small`: the websocket fuzz target's small limits (Fuzz/websocket/main.swift).
    static let small = WebSocketLimits(frameBytesMax: 125, messageBytesMax: 256, fragmentsMax: 4)

    /// Every input of `Corpus/websocket/`, in name order.
    static func all() -> [CorpusEntry] {
        CorpusFile.all("websocket").map(CorpusEntry.init)
    }

    init(_ file: CorpusFile) {
        let expect = file.directive("expect")
        var limits = WebSocketLimits.hub
        switch file.directives["limits"] {
        case nil: break
        case "conformance": limits = .conformance
        case "small": limits = Self.small
        case let value?: preconditionFailure("\(file.name): unknown limits \(value)")
        }
        guard expect == "ok" || UInt16(expect) != nil else { preconditionFailure("\(file.name): bad expect \(expect)") }
        self.name = file.name
        self.bytes = file.bytes
        self.expectedCloseCode = expect == "ok" ? nil : UInt16(expect)
        self.limits = limits
    }
}

@Suite struct WebSocketCorpusTests {
    @Test func corpusIsNotEmpty() {
        #expect(CorpusEntry.all().count >= 5)
    }

    @Test(arguments: CorpusEntry.all())
    func corpusInputDecodesTheSameWayWhateverTheReads(_ entry: CorpusEntry) {
        let whole = decodeMessages([entry.bytes], limits: entry.limits)
        #expect(whole.error?.closeCode == entry.expectedCloseCode, "\(whole)")
        #expect(decodeMessages(ByteChunks.bytewise(entry.bytes), limits: entry.limits) == whole)
        if entry.bytes.count < 4_096 {
            for cut in 0...entry.bytes.count {
                #expect(
                    decodeMessages(ByteChunks.split(entry.bytes, at: cut), limits: entry.limits) == whole, "cut \(cut)")
            }
        }
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<20 {
            let chunks = ByteChunks.random(entry.bytes, chunkBytesMax: 64, using: &random)
            #expect(decodeMessages(chunks, limits: entry.limits) == whole, "\(random.replay)")
        }
    }
}
