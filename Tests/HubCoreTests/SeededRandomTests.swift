import HubTestSupport
import Testing

/// The one seeded generator of the package (tests and benchmarks): its stream is SplitMix64's,
/// and `HUB_SEED` is read in decimal or hex, so a printed seed always replays.
@Suite struct SeededRandomTests {
    /// Vigna's reference `splitmix64.c` with x = 1234567 gives these first outputs.
    @Test func streamIsSplitMix64() {
        var random = SeededRandom(seed: 1_234_567)
        let first = (0..<5).map { _ in random.next() }
        #expect(first == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                          4_593_380_528_125_082_431, 16_408_922_859_458_223_821])
    }

    @Test func sameSeedSameStream() {
        var a = SeededRandom(seed: 0xDEAD_BEEF)
        var b = SeededRandom(seed: 0xDEAD_BEEF)
        var c = SeededRandom(seed: 0xDEAD_BEEF + 1)
        let (x, y, z) = ((0..<100).map { _ in a.next() }, (0..<100).map { _ in b.next() }, (0..<100).map { _ in c.next() })
        #expect(x == y && x != z)
        #expect(a.replay == "HUB_SEED=3735928559")
    }

    @Test(arguments: [
        ("1234", 1234), ("0x4d2", 1234), ("0X4D2", 1234), ("0xDEADBEEF", 0xDEAD_BEEF), (" 42\n", 42),
        ("18446744073709551615", UInt64.max), ("0xffffffffffffffff", UInt64.max), ("0", 0),
    ] as [(String, UInt64)])
    func seedsParseInDecimalAndHex(text: String, seed: UInt64) {
        #expect(SeededRandom.parseSeed(text) == seed)
    }

    @Test(arguments: ["", "0x", "abc", "-1", "12ab", "0x1g", "18446744073709551616", "0x10000000000000000", "1e6"])
    func whatIsNotASeedIsRefused(text: String) {
        #expect(SeededRandom.parseSeed(text) == nil)
    }
}
