#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic random number generator for tests (SplitMix64, Steele et al., "Fast Splittable
/// Pseudorandom Number Generators", OOPSLA 2014): 8 bytes of state, passes BigCrush, and every seed
/// gives a different stream.
///
/// Tests take their generator from `SeededRandom.fromEnvironment()`, which prints the seed; set
/// `HUB_SEED` to that value to replay a failure exactly.
///
///     var random = SeededRandom.fromEnvironment()
///     let size = Int.random(in: 0...1000, using: &random)
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The seed this generator started from; include it in failure messages.
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    /// A generator seeded from `HUB_SEED` (decimal or 0x-hex) when set, else from the system
    /// generator. Prints the seed with the name of the test asking for it.
    public static func fromEnvironment(_ test: String = #function) -> SeededRandom {
        let seed: UInt64
        if let text = getenv("HUB_SEED").map({ String(cString: $0) }), let parsed = parse(text) {
            seed = parsed
        } else {
            var system = SystemRandomNumberGenerator()
            seed = system.next()
        }
        print("\(test): HUB_SEED=\(seed)")
        return SeededRandom(seed: seed)
    }

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

    private static func parse(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }
}
