#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic random number generator for tests and benchmarks (SplitMix64, Steele et al.,
/// "Fast Splittable Pseudorandom Number Generators", OOPSLA 2014): 8 bytes of state, passes
/// BigCrush, and every seed gives a different stream. The only one in the package: the unit tests
/// and `spacehub-load` all draw from it, so one seed means the same stream everywhere.
///
/// Tests take their generator from `SeededRandom.fromEnvironment()`, which prints the seed; set
/// `HUB_SEED` to that value (decimal or `0x` hex) to replay a failure exactly. Every failure
/// message of a seeded test names the seed (`random.replay`).
///
///     var random = SeededRandom.fromEnvironment()
///     let size = Int.random(in: 0...1000, using: &random)
///     #expect(size >= 0, "\(random.replay)")
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The seed this generator started from; include it in failure messages (`replay`).
    public let seed: UInt64
    /// Inlinable, with `next()`: the benchmarks draw from it on their hot paths (mask keys).
    @usableFromInline var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    /// A generator seeded from `HUB_SEED` when set, else from the system generator. Prints the
    /// seed with the name of the test asking for it.
    public static func fromEnvironment(_ test: String = #function) -> SeededRandom {
        SeededRandom(seed: seedFromEnvironment(test))
    }

    /// The seed `fromEnvironment` uses: `HUB_SEED` (decimal or 0x-hex) when set, else a random
    /// one; printed with `test` either way, so any run can be replayed. A `HUB_SEED` that is not
    /// a 64-bit number stops the run: a replay that silently used another seed would prove nothing.
    public static func seedFromEnvironment(_ test: String = #function) -> UInt64 {
        let seed: UInt64
        if let text = getenv("HUB_SEED").map({ String(cString: $0) }), !text.isEmpty {
            guard let parsed = parseSeed(text) else {
                preconditionFailure("HUB_SEED=\(text) is not a 64-bit seed (decimal, or hex with 0x)")
            }
            seed = parsed
        } else {
            var system = SystemRandomNumberGenerator()
            seed = system.next()
        }
        print("\(test): HUB_SEED=\(seed)")
        return seed
    }

    /// `HUB_SEED`'s text as a seed: decimal (`1234`) or hex (`0x4d2`, `0X4D2`); nil otherwise.
    public static func parseSeed(_ text: String) -> UInt64? {
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }

    /// `HUB_SEED=<seed>`: what a failure message says so the run can be replayed.
    public var replay: String { "HUB_SEED=\(seed)" }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }

    /// True with probability `percent` / 100.
    public mutating func percent(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
