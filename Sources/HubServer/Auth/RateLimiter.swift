import HubHTTP

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


    /// Buckets kept at most, both generations together. 100,000 keys × ~80 bytes is 8 MB: enough
    /// for a flood of addresses.
    static let keysMax = 100_000

    private var young: [String: TokenBucket] = [:]
    private var old: [String: TokenBucket] = [:]

    /// Takes a token for `key`. Returns nil when allowed, or the seconds until the next token.
    func take(_ key: String, rule: Rule, nowMs: Int64) -> Int? {
        var bucket = young[key] ?? old.removeValue(forKey: key) ?? TokenBucket(capacity: rule.capacity, nowMs: nowMs)
        let retry = bucket.take(capacity: rule.capacity, periodSeconds: rule.periodSeconds, nowMs: nowMs)
        if young[key] == nil && young.count >= Self.keysMax / 2 {
            old = young
            young = [:]
            young.reserveCapacity(Self.keysMax / 2)
        }
        young[key] = bucket
        return retry
    }

    var count: Int { young.count + old.count }
}

@available(*, unavailable) extension RateLimiter: Sendable {}

/// One token bucket: up to `capacity` tokens, refilled continuously at `capacity` per period.
struct TokenBucket {
    private var tokens: Double
    private var updatedMs: Int64

    init(capacity: Double, nowMs: Int64) {
        tokens = capacity
        updatedMs = nowMs
    }

    /// Takes a token: nil when there was one, else the seconds until there is.
    mutating func take(capacity: Double, periodSeconds: Double, nowMs: Int64) -> Int? {
        let rate = capacity / (periodSeconds * 1000)
        tokens = min(capacity, tokens + Double(max(0, nowMs - updatedMs)) * rate)
        updatedMs = nowMs
        guard tokens >= 1 else { return max(1, Int(((1 - tokens) / rate / 1000).rounded(.up))) }
        tokens -= 1
        return nil
    }
}

/// What a rate limit counts, and by what: an address, a user, an email, a connection.
enum RateAction: String, CaseIterable, Sendable {
    case loginPerIP = "login-ip", loginPerEmail = "login-email"
    case registerPerIP = "register-ip", registerPerEmail = "register-email"
    case forgotPerIP = "forgot-ip", forgotPerEmail = "forgot-email"
    case bookPerUser = "book-user", bookPerIP = "book-ip"
    /// Every mutating request (POST, PUT, DELETE, PATCH) but the signed Paystack webhook.
    case writePerIP = "write-ip", writePerUser = "write-user"
    case webSocketConnectPerIP = "ws-connect-ip"
    /// Messages one WebSocket connection may send.
    case webSocketMessagesPerConnection = "ws-messages"

    /// Its per-minute allowance in `config`.
    func perMinute(_ config: Config) -> Int {
        switch self {
        case .loginPerIP: config.auth.loginPerMinutePerIP
        case .loginPerEmail: config.auth.loginPerMinutePerEmail
        case .registerPerIP: config.auth.registerPerMinutePerIP
        case .registerPerEmail: config.auth.registerPerMinutePerEmail
        case .forgotPerIP: config.auth.forgotPerMinutePerIP
        case .forgotPerEmail: config.auth.forgotPerMinutePerEmail
        case .bookPerUser: config.bookings.createPerMinutePerUser
        case .bookPerIP: config.bookings.createPerMinutePerIP
        case .writePerIP: config.server.writesPerMinutePerIP
        case .writePerUser: config.server.writesPerMinutePerUser
        case .webSocketConnectPerIP: config.websocket.connectsPerMinutePerIP
        case .webSocketMessagesPerConnection: config.websocket.messagesPerMinute
        }
    }
}

/// The hub's rate limits: one set of buckets for every action, each allowing its configured
/// count a minute (a burst of that many, refilled over `auth.rateLimits.periodSeconds`, 60 in
/// production). A refusal is `429 rate_limited` with `Retry-After` (close 1008 on a WebSocket).
/// The allowances reload on SIGHUP; the buckets carry over.
final class RateLimits {
    private let limiter = RateLimiter()
    private var periodSeconds: Double
    private var allowances: [RateAction: Int] = [:]
    /// Refusals per action since start (for metrics and tests).
    private(set) var refusals: [RateAction: Int] = [:]

    init(_ config: Config) {
        periodSeconds = Double(config.auth.rateLimitPeriodSeconds)
        reload(config)
    }

    func reload(_ config: Config) {
        periodSeconds = Double(config.auth.rateLimitPeriodSeconds)
        for action in RateAction.allCases { allowances[action] = action.perMinute(config) }
    }

    /// Takes one token of `action` for `key`, or throws `429` saying when to retry.
    func take(_ action: RateAction, key: String) throws(APIError) {
        if let retry = retryAfter(action, key: key) { throw APIError.tooManyRequests(retryAfterSeconds: retry) }
    }

    /// Takes one token; nil when allowed, else the seconds until the next one.
    func retryAfter(_ action: RateAction, key: String) -> Int? {
        let rule = RateLimiter.Rule(capacity: Double(allowances[action] ?? 1), periodSeconds: periodSeconds)
        let retry = limiter.take("\(action.rawValue):\(key)", rule: rule, nowMs: WallClock.milliseconds())
        if retry != nil { refusals[action, default: 0] += 1 }
        return retry
    }

    var bucketCount: Int { limiter.count }

    /// The current per-minute allowance of `action`.
    func allowance(_ action: RateAction) -> Int { allowances[action] ?? 1 }

    /// Counts a refusal decided elsewhere (a WebSocket's own message budget).
    func countRefusal(_ action: RateAction) { refusals[action, default: 0] += 1 }
}

@available(*, unavailable) extension RateLimits: Sendable {}
