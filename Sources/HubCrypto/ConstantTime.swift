import COpenSSL

/// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths.
///
/// For MACs, signatures, token hashes and password hashes. A length mismatch returns false at once:
/// lengths are public (every MAC we compare has a fixed size), contents are not. Equal lengths go
/// through `CRYPTO_memcmp`, which "takes an amount of time dependent on len, but independent of the
/// contents" (crypto.h) and returns 0 iff equal. Two empty arrays are equal.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { a in
        b.withUnsafeBytes { b in
            // baseAddress is non-nil: both arrays are non-empty (checked above).
            CRYPTO_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
        }
    }
}
