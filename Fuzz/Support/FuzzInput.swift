// Compiled into every target (scripts/fuzz.sh); see docs/FUZZING.md.

/// One libFuzzer input for a stream codec: a control byte, then the bytes a peer sent.
///
/// The control byte chooses what a connection would otherwise decide: bit 0 selects the codec's
/// small limits (so inputs of a few hundred bytes reach every limit check), bits 1–7 seed the
/// sizes of the reads the stream arrives in. A crash therefore replays exactly from its file.
/// The unit-test corpus (Tests/HubWireTests/Corpus/) stores the stream without the control
/// byte, with `# limits: small` when bit 0 was set; its replay tries every split point instead.
struct FuzzInput {
    let control: UInt8
    let stream: [UInt8]

    init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        let all = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
        control = all.first ?? 0
        stream = Array(all.dropFirst())
    }

    var usesSmallLimits: Bool { control & 1 == 1 }

    /// End offsets of the reads that deliver `stream`, in order, the last one `stream.count`.
    /// Read sizes are drawn from 1 to a maximum that the seed also picks: one byte at a time,
    /// a few bytes (every header split), or large reads (the common case).
    var cuts: [Int] {
        var random = SplitMix64(seed: UInt64(control >> 1))
        let readMax = [1, 2, 3, 7, 16, 61, 512, 4096][Int(random.next() % 8)]
        var cuts: [Int] = []
        var end = 0
        while end < stream.count {
            end = min(stream.count, end + 1 + Int(random.next() % UInt64(readMax)))
            cuts.append(end)
        }
        return cuts
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): small and seedable, enough to pick read sizes.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Stops the target with `message` when `condition` fails. `fatalError` rather than
/// `precondition`, whose message -O builds drop: the message is what the finding says.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Whether a header field holds what the parsers promise: a lower-case token name, and a value
/// without CR, LF or other controls but HTAB (RFC 9110 §5.5), trimmed of spaces and tabs.
func isCleanField(name: String, value: String) -> Bool {
    let nameOK = !name.isEmpty && name.utf8.allSatisfy { byte in
        switch byte {
        case 0x30...0x39, 0x61...0x7A, 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }
    let bytes = Array(value.utf8)
    let valueOK = bytes.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }
    let trimmed = bytes.first.map { $0 != 0x20 && $0 != 0x09 } ?? true
    let trimmedEnd = bytes.last.map { $0 != 0x20 && $0 != 0x09 } ?? true
    return nameOK && valueOK && trimmed && trimmedEnd
}
