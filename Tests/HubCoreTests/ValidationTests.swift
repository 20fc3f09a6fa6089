import Testing

@testable import HubCore

@Suite struct ValidationTests {
    @Test(arguments: [
        "ada@example.com", "a.b+c@sub.example.ng", "ADA@EXAMPLE.COM", "x@a-b.co", "1@2.3", "o'brien@example.ie",
        String(repeating: "a", count: 64) + "@example.com",
    ])
    func acceptsEmail(email: String) {
        #expect(Validation.emailProblem(email) == nil)
    }

    @Test(arguments: [
        "", "no-at", "a@b", "a@@b.com", "a@b@c.com", "@b.com", "a b@c.com", "a,b@c.com", "<a>@c.com", "a@-b.com",
        "a@b-.com", "a@b..com", "a@.b.com", "a@b.com.", "a@exämple.com", "a@b_c.com", "a@b.c om",
        String(repeating: "a", count: 65) + "@example.com",
        "a@" + String(repeating: "b", count: 64) + ".com",
    ])
    func refusesEmail(email: String) {
        #expect(Validation.emailProblem(email) != nil)
    }

    /// 254 octets pass, 255 fail, whatever the parts look like.
    @Test func emailLengthBoundary() {
        let domain254 = String(repeating: "b", count: 63) + "." + String(repeating: "c", count: 63) + "." + String(repeating: "d", count: 61) + ".ng"
        let at254 = String(repeating: "a", count: 254 - 1 - domain254.count) + "@" + domain254
        #expect(at254.utf8.count == 254)
        #expect(Validation.emailProblem(at254) == nil)
        #expect(Validation.emailProblem("a" + at254) == "email is longer than 254 characters")
    }

    @Test func normalizesEmail() {
        #expect(Validation.normalizedEmail("  Ada@Example.COM \n") == "ada@example.com")
    }

    @Test(arguments: ["+2348012345678", "+12345678", "+123456789012345", "+447700900123"])
    func acceptsPhone(phone: String) {
        #expect(Validation.phoneProblem(phone) == nil)
    }

    @Test(arguments: [
        "", "+", "08012345678", "2348012345678", "+0348012345678", "+1234567", "+1234567890123456", "+234 801 234 5678",
        "+234-801-234-5678", "+23480123456a", "++2348012345678", "+٢٣٤٨٠١٢٣٤٥٦٧٨",
    ])
    func refusesPhone(phone: String) {
        #expect(Validation.phoneProblem(phone) == "phone must be in E.164 form, e.g. +2348012345678")
    }

    @Test func names() {
        #expect(Validation.nameProblem("Ada", field: "firstName") == nil)
        #expect(Validation.nameProblem("Ọlá Àdìó", field: "firstName") == nil)
        #expect(Validation.nameProblem("  Ada  ", field: "firstName") == nil)
        #expect(Validation.nameProblem("", field: "firstName") == "firstName must not be empty")
        #expect(Validation.nameProblem(" \t\n", field: "lastName") == "lastName must not be empty")
        #expect(Validation.nameProblem(String(repeating: "é", count: 100), field: "firstName") == nil)
        #expect(Validation.nameProblem(String(repeating: "é", count: 101), field: "firstName") == "firstName is longer than 100 characters")
        #expect(Validation.nameProblem("Ada\u{7}", field: "firstName") == "firstName contains control characters")
        #expect(Validation.nameProblem("A\u{0}da", field: "firstName") == "firstName contains control characters")
    }

    /// Password bounds are bytes: 8 passes and 7 fails, 1024 passes and 1025 fails.
    @Test func passwords() {
        #expect(Validation.passwordProblem(String(repeating: "x", count: 7)) == "password must be at least 8 characters")
        #expect(Validation.passwordProblem(String(repeating: "x", count: 8)) == nil)
        #expect(Validation.passwordProblem("éééé") == nil)  // 4 characters, 8 bytes
        #expect(Validation.passwordProblem(String(repeating: "x", count: 1024)) == nil)
        #expect(Validation.passwordProblem(String(repeating: "x", count: 1025)) == "password must be at most 1024 bytes")
        #expect(Validation.passwordProblem("") != nil)
    }

    @Test func trimmedWhitespace() {
        #expect("  a b  ".trimmedWhitespace == "a b")
        #expect("\n\t".trimmedWhitespace == "")
        #expect("x".trimmedWhitespace == "x")
    }
}
