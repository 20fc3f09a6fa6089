import Foundation
import Testing

/// One replayed input of `Corpus/<codec>/` (see Corpus/README.md): its bytes and its `# key: value`
/// directives. Read from the source tree (#filePath) rather than as a resource: the tests run from
/// a checkout, and the corpus stays plain files anyone can add to.
struct CorpusFile: CustomTestStringConvertible, Sendable {
    /// "<codec>/<file>.hex"
    let name: String
    let bytes: [UInt8]
    /// `# expect: ok` gives ["expect": "ok"]. Other comment lines are free text.
    let directives: [String: String]

    /// The comment lines that are directives: `# expect:` (required) and `# limits:`.
    static let directiveKeys = ["expect", "limits"]

    var testDescription: String { name }

    /// The directive `key`; a corpus file without it is a broken file, not a passing test.
    func directive(_ key: String) -> String {
        guard let value = directives[key] else { preconditionFailure("\(name): missing '# \(key):' line") }
        return value
    }

    /// Every `.hex` file of `Corpus/<codec>/`, in name order.
    static func all(_ codec: String, filePath: String = #filePath) -> [CorpusFile] {
        let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
            .appendingPathComponent("Corpus").appendingPathComponent(codec)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".hex") }.sorted().map { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return CorpusFile(name: "\(codec)/\(name)", text: text)
        }
    }

    init(name: String, text: String) {
        var hexDigits = ""
        var directives: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                for key in Self.directiveKeys where line.hasPrefix("# \(key):") {
                    directives[key] = line.dropFirst(key.count + 3).trimmingCharacters(in: .whitespaces)
                }
            } else {
                hexDigits += line
            }
        }
        self.name = name
        self.bytes = hex(hexDigits)
        self.directives = directives
    }
}
