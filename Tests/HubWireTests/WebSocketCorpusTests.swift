import Foundation
import HubTestSupport
import HubWire
import Testing

/// One corpus input: its bytes and what decoding them must produce (see Corpus/README.md).
struct CorpusEntry: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    /// nil: no error; else the close code of the error.
    let expectedCloseCode: UInt16?
    let limits: WebSocketLimits

    var testDescription: String { name }

    /// Reads every `.hex` file beside this source file, in name order. Read from the source tree
    /// (#filePath) rather than as a resource: the tests run from a checkout, and the corpus stays
    /// plain files anyone can add to.
    static func all(filePath: String = #filePath) -> [CorpusEntry] {
        let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".hex") }.sorted().map { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return CorpusEntry(name: name, text: text)
        }
    }

    init(name: String, text: String) {
        var hexDigits = ""
        var expect: String?
        var limits = WebSocketLimits.hub
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# expect:") {
                expect = line.dropFirst("# expect:".count).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("# limits:") {
                let value = line.dropFirst("# limits:".count).trimmingCharacters(in: .whitespaces)
                precondition(value == "conformance", "\(name): unknown limits \(value)")
                limits = .conformance
            } else if !line.hasPrefix("#") {
                hexDigits += line
            }
        }
        precondition(expect != nil, "\(name): missing '# expect:' line")
        self.name = name
        self.bytes = hex(hexDigits)
        self.expectedCloseCode = expect == "ok" ? nil : UInt16(expect!)  // checked just above
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
