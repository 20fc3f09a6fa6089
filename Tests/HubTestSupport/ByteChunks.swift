/// Ways to cut a byte string into reads, for feeding incremental decoders (uWebSockets
/// `fuzzing/helpers.h` `makeChunked`): every single cut, one byte at a time, and seeded random chunks.
/// Each chunk is its own array, so a decoder that kept a pointer into an earlier read would fail.
public enum ByteChunks {
    /// Every way to cut `bytes` in two: `[[], all]`, `[[b0], rest]`, … `[all, []]`.
    public static func everySplit(_ bytes: [UInt8]) -> [[[UInt8]]] {
        (0...bytes.count).map { split(bytes, at: $0) }
    }

    /// `bytes` cut in two before index `cut`.
    public static func split(_ bytes: [UInt8], at cut: Int) -> [[UInt8]] {
        [Array(bytes[..<cut]), Array(bytes[cut...])]
    }

    /// One chunk per byte.
    public static func bytewise(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.map { [$0] }
    }

    /// Chunks of random sizes in `0...chunkBytesMax` (empty reads included) covering `bytes`.
    public static func random(_ bytes: [UInt8], chunkBytesMax: Int, using random: inout SeededRandom) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let size = min(Int.random(in: 0...chunkBytesMax, using: &random), bytes.count - start)
            chunks.append(Array(bytes[start..<start + size]))
            start += size
        }
        return chunks
    }
}
