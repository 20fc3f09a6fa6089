import Foundation
import HubCrypto
import Testing

/// Re-measures scrypt on the current machine; run with `HUB_CRYPTO_BENCH=1 swift test --filter
/// PasswordHasherBenchmark`. The numbers documented on `PasswordHasher.Cost.standard` come from here.
/// Disabled by default: timing assertions are flaky on shared CI, and a hash at N=2^17 takes ~0.4 s.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["HUB_CRYPTO_BENCH"] == "1"), .serialized)
struct PasswordHasherBenchmarkTests {
    @Test(arguments: [(15, 1), (16, 1), (17, 1), (15, 3)])
    func measureHashTime(logN: Int, parallelism: Int) throws {
        let hasher = PasswordHasher(cost: PasswordHasher.Cost(logN: logN, blockSize: 8, parallelism: parallelism))
        _ = try hasher.hash("warm-up")
        let rounds = 10
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for round in 0..<rounds { _ = try hasher.hash("password \(round)") }
        }
        print("scrypt ln=\(logN) r=8 p=\(parallelism): \(elapsed / rounds) per hash")
    }
}
