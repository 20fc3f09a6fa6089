/// Token buckets keyed by text ("login:ip:127.0.0.1"). Each bucket holds up to `capacity`
/// tokens and refills continuously at `capacity` per `periodSeconds`; a request takes one.
///
/// Loop thread only. Memory is bounded by `keysMax`: when full, buckets that have refilled
/// completely (they carry no information) are dropped; if none has, the oldest half goes.
final class RateLimiter {
    struct Rule {
        let capacity: Double
        let periodSeconds: Double
    }

    private struct Bucket {
        var tokens: Double
        var updatedMs: Int64
    }

    /// Buckets kept at most. 100,000 keys × ~80 bytes is 8 MB: enough for a flood of addresses.
    static let keysMax = 100_000

    private var buckets: [String: Bucket] = [:]

    /// Takes a token for `key`. Returns nil when allowed, or the seconds until the next token.
    func take(_ key: String, rule: Rule, nowMs: Int64) -> Int? {
        let rate = rule.capacity / (rule.periodSeconds * 1000)
        var bucket = buckets[key] ?? Bucket(tokens: rule.capacity, updatedMs: nowMs)
        bucket.tokens = min(rule.capacity, bucket.tokens + Double(nowMs - bucket.updatedMs) * rate)
        bucket.updatedMs = nowMs
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / rate / 1000).rounded(.up)))
        }
        bucket.tokens -= 1
        if buckets[key] == nil && buckets.count >= Self.keysMax { evict(nowMs: nowMs, rule: rule) }
        buckets[key] = bucket
        return nil
    }

    var count: Int { buckets.count }

    private func evict(nowMs: Int64, rule: Rule) {
        let fullAfterMs = Int64(rule.periodSeconds * 1000)
        buckets = buckets.filter { nowMs - $0.value.updatedMs < fullAfterMs }
        if buckets.count >= Self.keysMax {
            let sorted = buckets.sorted { $0.value.updatedMs < $1.value.updatedMs }
            buckets = Dictionary(uniqueKeysWithValues: sorted.suffix(Self.keysMax / 2).map { ($0.key, $0.value) })
        }
    }
}

@available(*, unavailable) extension RateLimiter: Sendable {}
