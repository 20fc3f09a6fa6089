/// An ISO 4217 currency we take payments in, with its number of minor-unit digits.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    public let code: String
    /// Digits after the decimal point: 2 for NGN (100 kobo to the naira).
    public let minorDigits: Int

    public static let ngn = Currency(code: "NGN", minorDigits: 2)
    public static let ghs = Currency(code: "GHS", minorDigits: 2)
    public static let zar = Currency(code: "ZAR", minorDigits: 2)
    public static let usd = Currency(code: "USD", minorDigits: 2)
    public static let kes = Currency(code: "KES", minorDigits: 2)

    /// The currencies Paystack settles (its OpenAPI `Currency` enum).
    public static let supported: [Currency] = [.ngn, .ghs, .zar, .usd, .kes]

    public init?(code: String) {
        // Stored codes are upper case already: match those without allocating first.
        if let known = Self.supported.first(where: { $0.code == code }) {
            self = known
            return
        }
        let upper = code.uppercased()
        guard let known = Self.supported.first(where: { $0.code == upper }) else { return nil }
        self = known
    }

    private init(code: String, minorDigits: Int) {
        self.code = code
        self.minorDigits = minorDigits
    }

    public var description: String { code }
}

/// An amount of money in integer minor units (kobo for NGN). No floating point ever holds money:
/// the API's major-unit numbers are parsed from their decimal text.
public struct Money: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: Currency

    public init(minorUnits: Int64, currency: Currency = .ngn) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: Currency = .ngn) -> Money { Money(minorUnits: 0, currency: currency) }

    /// Largest amount we accept in major units: 10^12 (a trillion naira) keeps every product of
    /// a price and a duration far inside Int64 minor units.
    public static let majorUnitsMax: Int64 = 1_000_000_000_000

    public enum ParseError: Error, Equatable, Sendable {
        case notADecimal
        case negative
        case tooManyDecimals(allowed: Int)
        case tooLarge
    }

    /// Parses a major-unit decimal such as "50000", "50000.5" or "50000.50" (a JSON number
    /// literal or a string). Exponents, signs other than none, and more decimals than the
    /// currency has are refused rather than rounded.
    public static func parse(major text: String, currency: Currency = .ngn) -> Result<Money, ParseError> {
        var integerPart: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        var digits = 0
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return .failure(.notADecimal) }
        if bytes[0] == 0x2D { return .failure(.negative) }
        for byte in bytes {
            if byte == 0x2E {
                guard !seenPoint, digits > 0 else { return .failure(.notADecimal) }
                seenPoint = true
                continue
            }
            guard byte >= 0x30 && byte <= 0x39 else { return .failure(.notADecimal) }
            let digit = Int64(byte - 0x30)
            if seenPoint {
                fractionDigits += 1
                guard fractionDigits <= currency.minorDigits else {
                    // "50000.500" is still exact; only non-zero extra digits lose money.
                    if digit == 0 { continue }
                    return .failure(.tooManyDecimals(allowed: currency.minorDigits))
                }
                fraction = fraction * 10 + digit
            } else {
                digits += 1
                integerPart = integerPart * 10 + digit
                guard integerPart <= majorUnitsMax else { return .failure(.tooLarge) }
            }
        }
        guard digits > 0, !(seenPoint && fractionDigits == 0) else { return .failure(.notADecimal) }
        let usedDigits = min(fractionDigits, currency.minorDigits)
        for _ in usedDigits..<currency.minorDigits { fraction *= 10 }
        return .success(Money(minorUnits: integerPart * pow10(currency.minorDigits) + fraction, currency: currency))
    }

    /// Major units as minimal decimal text: 5000000 kobo → "50000", 5000050 → "50000.5".
    /// This is what the API puts in JSON number positions (the seed's `amount: number`).
    public var majorText: String {
        let scale = Self.pow10(currency.minorDigits)
        let negative = minorUnits < 0
        let magnitude = minorUnits.magnitude
        let whole = magnitude / UInt64(scale)
        var fraction = magnitude % UInt64(scale)
        var text = (negative ? "-" : "") + String(whole)
        guard fraction != 0 else { return text }
        var width = currency.minorDigits
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        let fractionText = String(fraction)
        text += "." + String(repeating: "0", count: width - fractionText.count) + fractionText
        return text
    }

    /// "NGN 50,000.00": for emails and receipts.
    public var display: String {
        let scale = Self.pow10(currency.minorDigits)
        let magnitude = minorUnits.magnitude
        var whole = String(magnitude / UInt64(scale))
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        grouped = whole + grouped
        let fraction = String(magnitude % UInt64(scale))
        let padded = String(repeating: "0", count: currency.minorDigits - fraction.count) + fraction
        return "\(currency.code) \(minorUnits < 0 ? "-" : "")\(grouped).\(padded)"
    }

    public var description: String { "\(majorText) \(currency.code)" }

    public static func < (lhs: Money, rhs: Money) -> Bool {
        precondition(lhs.currency == rhs.currency, "comparing \(lhs.currency) with \(rhs.currency)")
        return lhs.minorUnits < rhs.minorUnits
    }

    public static func + (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "adding \(lhs.currency) to \(rhs.currency)")
        return Money(minorUnits: lhs.minorUnits + rhs.minorUnits, currency: lhs.currency)
    }

    public static func - (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "subtracting \(rhs.currency) from \(lhs.currency)")
        return Money(minorUnits: lhs.minorUnits - rhs.minorUnits, currency: lhs.currency)
    }

    /// `self × numerator / denominator`, rounded half up to a whole minor unit. For prorating an
    /// hourly price over minutes: `hourly.scaled(by: minutes, over: 60)`.
    public func scaled(by numerator: Int64, over denominator: Int64) -> Money {
        precondition(denominator > 0 && numerator >= 0 && minorUnits >= 0)
        // m × n / d = q × n + r × n / d with m = q × d + r: exact, and unlike m × n it stays inside
        // Int64 for the largest price over the longest booking (10^14 kobo × 527,040 minutes).
        let (quotient, remainder) = minorUnits.quotientAndRemainder(dividingBy: denominator)
        let (whole, overflow) = quotient.multipliedReportingOverflow(by: numerator)
        let (part, partOverflow) = remainder.multipliedReportingOverflow(by: numerator)
        precondition(!overflow && !partOverflow, "money overflow: \(minorUnits) × \(numerator) / \(denominator)")
        return Money(minorUnits: whole + (part + denominator / 2) / denominator, currency: currency)
    }

    static func pow10(_ exponent: Int) -> Int64 {
        var value: Int64 = 1
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}
