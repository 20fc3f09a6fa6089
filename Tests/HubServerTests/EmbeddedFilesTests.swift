import Foundation
import Testing

@testable import HubServer

/// `Web/EmbeddedFiles.swift` is generated from `Web/Files/` by scripts/embed-files.py and
/// committed; these tests fail when someone edits a file and forgets to run the script.
@Suite struct EmbeddedFilesTests {
    /// Sources/HubServer/Web/Files, found from this file's place in the source tree.
    static let filesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/HubServer/Web/Files")

    @Test func everyFileIsEmbeddedWithItsCurrentBytes() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.filesDirectory.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(!names.isEmpty)
        #expect(names == EmbeddedFiles.all.keys.sorted(), "run scripts/embed-files.py: the set of files changed")
        for name in names {
            let onDisk = try Data(contentsOf: Self.filesDirectory.appendingPathComponent(name))
            let embedded = Data((EmbeddedFiles.all[name] ?? "").utf8)
            #expect(embedded == onDisk,
                    "run scripts/embed-files.py: \(name) changed since EmbeddedFiles.swift was generated")
        }
    }
}
