/// Token buckets keyed by text ("login:ip:127.0.0.1"). Each bucket holds up to `capacity`
/// tokens and refills continuously at `capacity` per `periodSeconds`; a request takes one.
///
/// Loop thread only. Memory is bounded by `keysMax`, and so is the work of forgetting: buckets
/// live in two generations; when the young one reaches half of `keysMax` the old one is dropped
/// whole and the young one becomes old. A bucket read from the old generation moves to the young
/// one, so a key in use survives; a key idle for a whole generation is forgotten, which only
/// forgives it (a forgotten bucket starts full). No sort and no scan: a flood of new keys costs
/// O(1) each, with a drop of one generation every `keysMax / 2` keys (an earlier version sorted
/// 100,000 buckets on the loop when full).
final class RateLimiter {
    struct Rule {
        let capacity: Double
        let periodSeconds: Double
    }

    private struct Bucket {
        var tokens: Double
        var updatedMs: Int64
    }

    /// Buckets kept at most, both generations together. 100,000 keys × ~80 bytes is 8 MB: enough
    /// for a flood of addresses.
    static let keysMax = 100_000

    private var young: [String: Bucket] = [:]
    private var old: [String: Bucket] = [:]

    /// Takes a token for `key`. Returns nil when allowed, or the seconds until the next token.
    func take(_ key: String, rule: Rule, nowMs: Int64) -> Int? {
        let rate = rule.capacity / (rule.periodSeconds * 1000)
        var bucket = young[key] ?? old.removeValue(forKey: key) ?? Bucket(tokens: rule.capacity, updatedMs: nowMs)
        bucket.tokens = min(rule.capacity, bucket.tokens + Double(max(0, nowMs - bucket.updatedMs)) * rate)
        bucket.updatedMs = nowMs
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        if young[key] == nil && young.count >= Self.keysMax / 2 {
            old = young
            young = [:]
            young.reserveCapacity(Self.keysMax / 2)
        }
        young[key] = bucket
        return allowed ? nil : max(1, Int(((1 - bucket.tokens) / rate / 1000).rounded(.up)))
    }

    var count: Int { young.count + old.count }
}

@available(*, unavailable) extension RateLimiter: Sendable {}

/// The hub's rate limits: one set of buckets for every action (sign-ins, registrations, booking
/// creation, …), each limited per minute by a configured count (refilled over
/// `auth.rateLimits.periodSeconds`, 60 in production). A refusal is `429 rate_limited` with
/// `Retry-After`.
final class RateLimits {
    private let limiter = RateLimiter()
    private let periodSeconds: Double

    init(periodSeconds: Int) {
        self.periodSeconds = Double(periodSeconds)
    }

    /// Takes one of `perMinute` tokens of `action` for `key` (an address, a user id, an email).
    func take(_ action: String, key: String, perMinute: Int) throws(APIError) {
        let rule = RateLimiter.Rule(capacity: Double(perMinute), periodSeconds: periodSeconds)
        if let retry = limiter.take("\(action):\(key)", rule: rule, nowMs: WallClock.milliseconds()) {
            throw APIError.tooManyRequests(retryAfterSeconds: retry)
        }
    }

    var bucketCount: Int { limiter.count }
}

@available(*, unavailable) extension RateLimits: Sendable {}
