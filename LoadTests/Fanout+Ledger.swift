/// What a fan-out run's subscribers received: for each availability event (by `seq`) when it was
/// committed at the latest-known lower bound and how many subscribers got it; for the measured
/// interval of each stage, deliveries and a latency histogram.
///
/// Latency is receipt minus a lower bound of the commit instant, so it never understates:
/// the envelope's `ts` (Unix ms, read just before COMMIT, so ≤ the commit by up to a millisecond
/// of truncation plus the commit itself), raised to the moment the tool queued the booking request
/// when that is later (the commit follows the request). Receipt is the wall clock read once per
/// read callback, before the frames in it are scanned.
final class FanoutLedger {
    struct EventRecord {
        /// Wall-clock nanoseconds no later than the commit; 0 until the first delivery.
        var referenceNs: Int64 = 0
        var deliveries: Int32 = 0
        /// Stage whose measured interval saw the first delivery, or -1.
        var stage: Int16 = -1
        /// Receipt times of the first and the latest delivery (wall clock).
        var firstNs: Int64 = 0
        var lastNs: Int64 = 0
    }

    /// How the events first seen in one stage spread out: per event, commit to first receipt
    /// and first to last receipt (how long the fan-out took as the subscribers saw it).
    struct Spread {
        var events = 0
        var deliveries = 0
        var firstP50Ns: Int64 = 0
        var firstP99Ns: Int64 = 0
        var spanP50Ns: Int64 = 0
        var spanP99Ns: Int64 = 0
    }

    /// Stage currently measuring, or nil between measured intervals.
    private(set) var measuringStage: Int?
    /// `@exclusivity(unchecked)`: loop thread only; `received` is the only mutator on the hot
    /// path and calls nothing that could reach the ledger again.
    @exclusivity(unchecked) private var records: [EventRecord] = []
    @exclusivity(unchecked) private(set) var histogram = LatencyHistogram()
    private var baseSeq: Int64 = -1
    private(set) var measuredDeliveries = 0
    private(set) var totalDeliveries = 0
    /// Text messages that were not availability events (acks, errors: none are expected).
    private(set) var otherMessages = 0
    private(set) var malformed = 0
    /// Events whose reference is the request's send time rather than `ts`.
    private(set) var referencedBySend = 0
    /// Bytes of the first availability event's text (the envelope; the frame adds 4).
    private(set) var eventBytes = 0
    /// Bookings whose request went out and whose event has not arrived: `spaceId|YYYY-MM-DDTHH:MM`
    /// → wall-clock nanoseconds when the request was queued.
    private var sentNs: [String: Int64] = [:]

    /// Events after `seq` are this run's (the first welcome's seq).
    func start(afterSeq seq: Int64) {
        baseSeq = seq
    }

    func bookingSent(key: String, atNs: Int64) {
        sentNs[key] = atNs
    }

    /// Starts a stage's measured interval with an empty histogram.
    func beginMeasuring(stage: Int) {
        measuringStage = stage
        histogram = LatencyHistogram()
        measuredDeliveries = 0
        measuredReads = 0
        measuredReadEvents = 0
    }

    func endMeasuring() {
        measuringStage = nil
    }

    /// Reads (by one subscriber) that carried events during the measured interval, and those
    /// events: their ratio is about how many events the server sent per write.
    private(set) var measuredReads = 0
    private(set) var measuredReadEvents = 0

    /// One subscriber's read callback brought `events` availability events.
    @inline(__always)
    func readDone(events: Int) {
        guard measuringStage != nil else { return }
        measuredReads += 1
        measuredReadEvents += events
    }

    /// One text message read by one subscriber at `nowNs` (wall clock); returns whether it was
    /// an availability event.
    @inline(__always)
    @discardableResult
    func received(_ text: UnsafeRawBufferPointer, nowNs: Int64) -> Bool {
        guard FanoutMessage.hasPrefix(text, FanoutMessage.availabilityPrefix) else {
            otherMessages += 1
            return false
        }
        guard baseSeq >= 0, let (seq, timestampMs) = FanoutMessage.seqAndTimestamp(text), seq > baseSeq else {
            malformed += 1
            return false
        }
        let index = Int(seq - baseSeq)
        if index >= records.count {
            records.append(contentsOf: repeatElement(EventRecord(), count: max(index + 1 - records.count, records.count)))
        }
        if records[index].referenceNs == 0 { firstDelivery(index, text, timestampMs, nowNs) }
        records[index].deliveries += 1
        records[index].lastNs = nowNs
        totalDeliveries += 1
        if measuringStage != nil {
            measuredDeliveries += 1
            histogram.record(nowNs - records[index].referenceNs)
        }
        return true
    }

    private func firstDelivery(_ index: Int, _ text: UnsafeRawBufferPointer, _ timestampMs: Int64, _ nowNs: Int64) {
        if eventBytes == 0 { eventBytes = text.count }
        var reference = timestampMs * 1_000_000
        if let key = FanoutMessage.bookingKey(text), let sent = sentNs.removeValue(forKey: key), sent > reference {
            reference = sent
            referencedBySend += 1
        }
        records[index].referenceNs = reference
        records[index].stage = Int16(measuringStage ?? -1)
        records[index].firstNs = nowNs
    }

    /// The events first delivered during `stage`'s measured interval: how many, their deliveries
    /// so far, and how their deliveries spread out in time.
    func spread(stage: Int) -> Spread {
        var spread = Spread()
        var firsts: [Int64] = []
        var spans: [Int64] = []
        for record in records where record.stage == stage {
            spread.events += 1
            spread.deliveries += Int(record.deliveries)
            firsts.append(record.firstNs - record.referenceNs)
            spans.append(record.lastNs - record.firstNs)
        }
        firsts.sort()
        spans.sort()
        func at(_ sorted: [Int64], _ fraction: Double) -> Int64 {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))]
        }
        spread.firstP50Ns = at(firsts, 0.5)
        spread.firstP99Ns = at(firsts, 0.99)
        spread.spanP50Ns = at(spans, 0.5)
        spread.spanP99Ns = at(spans, 0.99)
        return spread
    }

    /// Every availability event seen in the run, and its deliveries.
    var allEvents: (events: Int, deliveries: Int) {
        var events = 0
        for record in records where record.referenceNs != 0 { events += 1 }
        return (events, totalDeliveries)
    }
}

@available(*, unavailable) extension FanoutLedger: Sendable {}

/// Latencies in nanoseconds, log-linear buckets: exact below 1,024 ns, then 512 buckets per
/// power of two (≤ 0.2% relative error), 28,672 buckets (112 KiB) for any Int64. Recording is
/// an increment; millions of deliveries a second need no sample array.
struct LatencyHistogram {
    private static let linearBuckets = 1024
    private static let subBuckets = 512
    private var counts = [UInt32](repeating: 0, count: 1024 + 54 * 512)
    private(set) var count = 0
    private(set) var maxNs: Int64 = 0

    @inline(__always)
    mutating func record(_ nanoseconds: Int64) {
        let value = UInt64(max(nanoseconds, 0))
        counts[Self.bucket(value)] &+= 1
        count += 1
        if nanoseconds > maxNs { maxNs = nanoseconds }
    }

    @inline(__always)
    private static func bucket(_ value: UInt64) -> Int {
        if value < UInt64(linearBuckets) { return Int(value) }
        let highBit = 63 - value.leadingZeroBitCount  // ≥ 10
        let shift = highBit - 9  // value >> shift is in 512..<1024
        return linearBuckets + (shift - 1) * subBuckets + Int(value >> UInt64(shift)) - subBuckets
    }

    /// Upper bound of a bucket's values.
    private static func upperBound(_ bucket: Int) -> Int64 {
        if bucket < linearBuckets { return Int64(bucket) }
        let shift = (bucket - linearBuckets) / subBuckets + 1
        let mantissa = Int64((bucket - linearBuckets) % subBuckets + subBuckets)
        return ((mantissa + 1) << Int64(shift)) - 1
    }

    /// The value at `fraction` (0.5 = median, 1 = max) by nearest rank, as its bucket's upper
    /// bound (never understated); 0 without samples.
    func at(_ fraction: Double) -> Int64 {
        guard count > 0 else { return 0 }
        if fraction >= 1 { return maxNs }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (bucket, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += Int(bucketCount)
            if seen >= rank { return min(Self.upperBound(bucket), maxNs) }
        }
        return maxNs
    }
}
