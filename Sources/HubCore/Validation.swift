/// Field checks shared by every handler that accepts people's details. Each returns nil when
/// the value is fine, or the reason it is not.
public enum Validation {
    /// Longest email address (RFC 5321 §4.5.3.1: 254 octets in a path).
    public static let emailBytesMax = 254
    public static let nameCharactersMax = 100
    public static let passwordBytesMin = 8
    /// scrypt hashes any length, but a megabyte password is a denial-of-service attempt.
    public static let passwordBytesMax = 1024

    /// A pragmatic address check: one `@`, a non-empty local part without spaces, a domain with
    /// a dot and letters/digits/hyphens. Deliverability is proven by mail, not by regex.
    public static func emailProblem(_ email: String) -> String? {
        guard email.utf8.count <= emailBytesMax else { return "email is longer than \(emailBytesMax) characters" }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return "email is not a valid address" }
        guard !parts[0].contains(where: { $0.isWhitespace || $0 == "," || $0 == "<" || $0 == ">" }) else {
            return "email is not a valid address"
        }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }) else { return "email is not a valid address" }
        return nil
    }

    /// E.164: "+" then 8 to 15 digits, the first not zero ("+2348012345678").
    public static func phoneProblem(_ phone: String) -> String? {
        let bytes = Array(phone.utf8)
        guard bytes.first == 0x2B, (9...16).contains(bytes.count), bytes[1] != 0x30,
              bytes.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return "phone must be in E.164 form, e.g. +2348012345678" }
        return nil
    }

    public static func nameProblem(_ name: String, field: String) -> String? {
        let trimmed = name.trimmedWhitespace
        guard !trimmed.isEmpty else { return "\(field) must not be empty" }
        guard trimmed.count <= nameCharactersMax else { return "\(field) is longer than \(nameCharactersMax) characters" }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return "\(field) contains control characters"
        }
        return nil
    }

    public static func passwordProblem(_ password: String) -> String? {
        let count = password.utf8.count
        if count < passwordBytesMin { return "password must be at least \(passwordBytesMin) characters" }
        if count > passwordBytesMax { return "password must be at most \(passwordBytesMax) bytes" }
        return nil
    }

    /// Lower-cases and trims an email for storage and lookup.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmedWhitespace.lowercased()
    }
}

extension String {
    /// The string without leading and trailing whitespace.
    public var trimmedWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
