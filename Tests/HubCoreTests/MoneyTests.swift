import HubTestSupport
import Testing

@testable import HubCore

@Suite struct MoneyTests {
    static func kobo(_ minor: Int64) -> Result<Money, Money.ParseError> { .success(Money(minorUnits: minor, currency: .ngn)) }

    /// Major-unit text becomes exact minor units: no float ever sees the number.
    @Test(arguments: [
        ("0", 0), ("1", 100), ("50000", 5_000_000), ("50000.5", 5_000_050), ("50000.50", 5_000_050),
        ("50000.05", 5_000_005), ("0.01", 1), ("0.1", 10), ("007", 700), ("4999.99", 499_999),
        // Trailing zeros beyond the currency's digits lose nothing, so they are accepted.
        ("50000.500", 5_000_050), ("1.000000", 100),
        // 0.1 + 0.2 style amounts that binary floating point gets wrong.
        ("0.29", 29), ("1.15", 115),
    ] as [(String, Int64)])
    func parsesExactMinorUnits(text: String, minor: Int64) {
        #expect(Money.parse(major: text) == Self.kobo(minor))
    }

    @Test(arguments: [
        ("-1", Money.ParseError.negative), ("-0.01", .negative), ("-0", .negative),
        ("1e3", .notADecimal), ("1E3", .notADecimal), ("1.5e2", .notADecimal),
        ("+1", .notADecimal), ("", .notADecimal), (".5", .notADecimal), ("5.", .notADecimal), ("1.2.3", .notADecimal),
        (" 1", .notADecimal), ("1 ", .notADecimal), ("1,000", .notADecimal), ("0x10", .notADecimal), ("NaN", .notADecimal),
        ("Infinity", .notADecimal), ("١٢", .notADecimal), ("１", .notADecimal),
        ("0.001", .tooManyDecimals(allowed: 2)), ("50000.505", .tooManyDecimals(allowed: 2)),
        ("1.0001", .tooManyDecimals(allowed: 2)), ("8.675", .tooManyDecimals(allowed: 2)),
    ])
    func refuses(text: String, error: Money.ParseError) {
        #expect(Money.parse(major: text) == .failure(error))
    }

    /// `majorUnitsMax` passes, one more fails, and digits far beyond Int64 never overflow.
    @Test func largestAmountBoundary() {
        #expect(Money.parse(major: "1000000000000") == Self.kobo(100_000_000_000_000))
        #expect(Money.parse(major: "1000000000001") == .failure(.tooLarge))
        #expect(Money.parse(major: "9999999999999") == .failure(.tooLarge))
        #expect(Money.parse(major: String(repeating: "9", count: 40)) == .failure(.tooLarge))
        #expect(Money.parse(major: String(repeating: "9", count: 40) + ".5") == .failure(.tooLarge))
    }

    @Test func otherCurrencies() {
        #expect(Money.parse(major: "12.34", currency: .usd) == .success(Money(minorUnits: 1234, currency: .usd)))
        #expect(Currency(code: "ngn") == .ngn)
        #expect(Currency(code: "KES") == .kes)
        #expect(Currency(code: "XYZ") == nil)
        #expect(Currency(code: "") == nil)
        #expect(Currency.supported.allSatisfy { $0.minorDigits == 2 })
    }

    @Test(arguments: [
        (0, "0"), (100, "1"), (5_000_000, "50000"), (5_000_050, "50000.5"), (5_000_005, "50000.05"),
        (1, "0.01"), (10, "0.1"), (99, "0.99"), (-150, "-1.5"), (-1, "-0.01"),
    ] as [(Int64, String)])
    func majorText(minor: Int64, text: String) {
        #expect(Money(minorUnits: minor).majorText == text)
    }

    @Test(arguments: [
        (0, "NGN 0.00"), (100, "NGN 1.00"), (5_000_000, "NGN 50,000.00"), (123_456_789, "NGN 1,234,567.89"),
        (100_000, "NGN 1,000.00"), (99_999, "NGN 999.99"), (-5, "NGN -0.05"), (-123_456_789, "NGN -1,234,567.89"),
    ] as [(Int64, String)])
    func display(minor: Int64, text: String) {
        #expect(Money(minorUnits: minor).display == text)
    }

    /// `majorText` is what the API writes and `parse` what it reads: they must agree exactly.
    @Test func majorTextRoundTrips() {
        var random = SeededRandom.fromEnvironment()
        for _ in 0..<20_000 {
            let minor = Int64.random(in: 0...100_000_000_000_000, using: &random)
            let money = Money(minorUnits: minor)
            #expect(Money.parse(major: money.majorText) == .success(money), "minor \(minor), HUB_SEED=\(random.seed)")
        }
        for minor: Int64 in [0, 1, 9, 10, 11, 99, 100, 101, 100_000_000_000_000] {
            #expect(Money.parse(major: Money(minorUnits: minor).majorText) == Self.kobo(minor))
        }
    }

    @Test func arithmeticAndOrder() {
        let a = Money(minorUnits: 1_000)
        let b = Money(minorUnits: 250)
        #expect(a + b == Money(minorUnits: 1_250))
        #expect(a - b == Money(minorUnits: 750))
        #expect(b < a)
        #expect(Money.zero() == Money(minorUnits: 0, currency: .ngn))
        #expect(Money.zero(.usd).currency == .usd)
        #expect(a.description == "10 NGN")
    }

    /// Prorating rounds half up to a whole minor unit.
    @Test func scaledRoundsHalfUp() {
        let hourly = Money(minorUnits: 1_000_000)  // NGN 10,000 an hour
        #expect(hourly.scaled(by: 90, over: 60) == Money(minorUnits: 1_500_000))
        #expect(hourly.scaled(by: 61, over: 60) == Money(minorUnits: 1_016_667))  // 1,016,666.67
        #expect(Money(minorUnits: 1).scaled(by: 1, over: 2) == Money(minorUnits: 1))  // 0.5 → 1
        #expect(Money(minorUnits: 1).scaled(by: 1, over: 3) == Money(minorUnits: 0))  // 0.33 → 0
        #expect(Money(minorUnits: 5).scaled(by: 1, over: 2) == Money(minorUnits: 3))  // 2.5 → 3
        #expect(hourly.scaled(by: 0, over: 60) == Money(minorUnits: 0))
        // The largest price prorated over the longest booking (a year of minutes): the product
        // price × minutes (5.3e19) passes Int64, the result (8.8e17) does not.
        let largest = Money(minorUnits: Money.majorUnitsMax * 100)
        #expect(largest.scaled(by: 366 * 1440, over: 60).minorUnits == Money.majorUnitsMax * 100 * 366 * 24)
    }
}
