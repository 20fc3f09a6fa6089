import Foundation

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// tiny, fast, and good enough to drive a fuzzer reproducibly from one 64-bit seed.
///
/// Private to these tests on purpose: a shared `SeededRandom` may land in HubTestSupport from
/// another branch, and two definitions would clash on merge.
struct IndexTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// True with probability `percent` / 100.
    mutating func percent(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }

    /// A generator seeded from `HUB_SEED` when set, otherwise from the system; the seed is printed
    /// either way, so any failing run can be replayed exactly with `HUB_SEED=<seed>`.
    static func seeded(for test: String) -> (generator: IndexTestRandom, seed: UInt64) {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment["HUB_SEED"], let value = UInt64(text) {
            seed = value
        } else {
            seed = UInt64.random(in: .min ... .max)
        }
        print("\(test): seed \(seed) (replay with HUB_SEED=\(seed))")
        return (IndexTestRandom(seed: seed), seed)
    }
}

/// Calls `body` with every permutation of `elements` (Heap's algorithm, iterative): n! calls.
func forEachPermutation<Element>(of elements: [Element], _ body: ([Element]) throws -> Void) rethrows {
    var items = elements
    var counters = [Int](repeating: 0, count: items.count)
    try body(items)
    var level = 1
    while level < items.count {
        if counters[level] < level {
            items.swapAt(level % 2 == 0 ? 0 : counters[level], level)
            try body(items)
            counters[level] += 1
            level = 1
        } else {
            counters[level] = 0
            level += 1
        }
    }
}

/// Calls `body` with every subset of `elements` (2^n calls), each in the original order.
func forEachSubset<Element>(of elements: [Element], _ body: ([Element]) throws -> Void) rethrows {
    precondition(elements.count < 20, "2^\(elements.count) subsets is too many for a test")
    for mask in 0..<(1 << elements.count) {
        try body(elements.indices.filter { mask & (1 << $0) != 0 }.map { elements[$0] })
    }
}
