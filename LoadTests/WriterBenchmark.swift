import ArgumentParser
import Dispatch
import Foundation
import HubCore
import HubCrypto
import HubStore
import HubTestSupport
import Synchronization

/// `spacehub-load writer`: durable booking commits through the group-commit writer, no sockets.
///
/// `producers` clients each keep one booking in flight (closed loop): pick a slot, reserve it in
/// an `AvailabilityIndex`, submit the booking's rows to the `Writer`, and on its commit confirm
/// the reservation and submit the next. A job writes what `BookingService.create` writes: the
/// booking row and two `event_log` rows with JSON payloads of the hub's sizes.
///
/// By default one driver thread plays the hub's loop thread: it owns the index and every
/// producer, and the writer hands each group's completions to it through an inbox (a mutex
/// queue and a semaphore, as `LoopInbox` does with `uv_async`). `--producer-threads` runs one
/// OS thread per producer instead, sharing the index behind a lock: the same work plus a thread
/// wake-up per commit.
///
///     scripts/bench-writer.sh            # release build, the run, and an fsync count under strace
///     .build/release/spacehub-load writer --producers 64 --seconds 10 --durability full
struct WriterBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writer",
        abstract: "Benchmark durable booking commits through HubStore.Writer with concurrent producers."
    )

    /// Durable commits per second with 64 producers at `full` durability (issue 4). PostgreSQL 15
    /// with an EXCLUDE constraint does ~4,700 bookings/s on this machine: group commit is the point.
    static let commitsPerSecondMin = 20_000.0

    @Option(help: "Concurrent producers, each with one booking in flight.") var producers = 64
    @Option(help: "Measured seconds (after warm-up).") var seconds = 10.0
    @Option(help: "Warm-up seconds, not counted.") var warmup = 1.0
    @Option(help: "full | normal | off") var durability = "full"
    @Option(help: "Spaces the bookings spread over (many, so the calendar stays mostly free over the run).") var spaces = 1000
    @Option(help: "event_log rows per booking (the hub writes 2).") var events = 2
    @Option(help: "Writer.batchMax.") var batchMax = 4096
    @Option(help: "Database file (default: a fresh temp file, removed afterwards).") var path: String?
    @Flag(help: "One OS thread per producer instead of one driver thread.") var producerThreads = false
    @Flag(help: "Skip the AvailabilityIndex reservation around each commit.") var noIndex = false
    @Option(help: "Seed for slot choice.") var seed: UInt64 = 1
    @Option(help: "Experiment: PRAGMAs run on the writer's connection first, e.g. 'wal_autocheckpoint=10000'.")
    var pragma: [String] = []

    mutating func run() throws {
        guard let level = Database.Durability(rawValue: durability) else {
            throw ValidationError("durability must be full, normal or off")
        }
        let directory = path == nil ? NSTemporaryDirectory() + "spacehub-writer-bench-\(getpid())" : nil
        if let directory { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        defer { if let directory { try? FileManager.default.removeItem(atPath: directory) } }
        let file = path ?? directory! + "/bench.sqlite"  // one of the two is set

        let setup = try Database(path: file, durability: level)
        try Migrations.migrate(setup)
        try UserTable.insert(User(id: "bench-user", email: "bench@example.com", passwordHash: "x", firstName: "Bench", lastName: "User",
                                  phone: nil, createdAt: 0, updatedAt: 0), setup)

        print("writer benchmark: \(producers) producers (\(producerThreads ? "one thread each" : "one driver thread")), "
              + "\(durability) durability, \(events) events per booking, index \(noIndex ? "off" : "on"), batchMax \(batchMax)")
        print("  machine: \(Load.machine())")

        let workload = Workload(spaces: spaces, events: events, useIndex: !noIndex)
        let started = Load.nanoseconds()
        let window = Window(from: started + UInt64(warmup * 1e9), to: started + UInt64((warmup + seconds) * 1e9))
        let inbox = Inbox()
        let writer = try Writer(path: file, durability: level, batchMax: batchMax) { [producerThreads] work in
            if producerThreads { work() } else { inbox.post(work) }
        }
        for statement in pragma {
            let ready = DispatchSemaphore(value: 0)
            writer.submit({ db in try db.execute("PRAGMA " + statement) }) { result in
                if case .failure(let error) = result { print("  PRAGMA \(statement): \(error)") }
                ready.signal()
            }
            if !producerThreads {
                inbox.wait()
                for work in inbox.drain() { work() }
            }
            ready.wait()
            print("  PRAGMA \(statement)")
        }
        let usageBefore = Load.cpuNanoseconds()
        let edges = Edges()
        let sampled = DispatchSemaphore(value: 0)
        let sampler = Thread {
            Load.sleep(until: window.from)
            edges.before.withLock { $0 = writer.stats }
            Load.sleep(until: window.to)
            edges.after.withLock { $0 = writer.stats }
            sampled.signal()
        }
        sampler.start()
        let totals: Totals
        if producerThreads {
            totals = Self.runThreads(producers: producers, writer: writer, workload: workload, window: window, seed: seed)
        } else {
            totals = Self.runDriver(producers: producers, writer: writer, workload: workload, window: window, seed: seed, inbox: inbox)
        }
        sampled.wait()
        let cpu = Load.cpuNanoseconds() - usageBefore
        writer.stop()
        let whole = writer.stats
        let before = edges.before.withLock { $0 }!
        let after = edges.after.withLock { $0 }!

        let span = window.to - window.from
        let groups = after.groups - before.groups
        let jobs = after.jobs - before.jobs
        let latencies = totals.latencies.sorted()
        let rate = Load.perSecond(totals.committed, span)
        print("results over \(String(format: "%.1f", Double(span) / 1e9)) s")
        print("  committed bookings: \(totals.committed)  (\(Load.grouped(rate))/s)")
        print("  refused by the index before commit: \(totals.refused)")
        print("  failed jobs: \(after.failedJobs), failed groups: \(after.failedGroups)")
        print("  commit groups: \(groups)  (\(Load.grouped(Load.perSecond(groups, span)))/s), "
              + String(format: "mean %.1f jobs per group", groups > 0 ? Double(jobs) / Double(groups) : 0)
              + ", largest \(after.largestGroup)")
        print("  fsyncs: one WAL sync per commit group at full durability, \(groups) in the window "
              + "(scripts/bench-writer.sh counts them with strace); \(whole.groups) groups in the whole run")
        print("  process CPU: \(Load.micro(cpu / UInt64(max(1, totals.acknowledged)))) per booking over the run "
              + "(user+sys, all threads; \(String(format: "%.2f", Double(cpu) / Double(Load.nanoseconds() - started))) cores busy on average)")
        print("  submit-to-commit latency: p50 \(Load.millis(Load.percentile(latencies, 0.5)))  "
              + "p99 \(Load.millis(Load.percentile(latencies, 0.99)))  max \(Load.millis(latencies.last ?? 0))")

        let check = try Database(path: file, readOnly: true)
        let rows = try check.scalar("SELECT COUNT(*) FROM bookings") ?? 0
        let overlaps = try Load.overlappingBookings(check)
        let rowsOK = rows == Int64(totals.acknowledged)
        print("  check: \(rows) booking rows on disk for \(totals.acknowledged) acknowledged: \(rowsOK ? "ok" : "MISMATCH"); "
              + "overlapping bookings: \(overlaps)\(noIndex ? " (index off: overlaps expected)" : overlaps == 0 ? " ok" : " FAIL")")
        if level == .full {
            let ok = rate >= Self.commitsPerSecondMin
            print("threshold")
            print("  \(Load.grouped(rate))/s >= \(Load.grouped(Self.commitsPerSecondMin))/s: \(ok ? "ok" : "MISSED")")
            if !ok { throw ExitCode.failure }
        }
        if !rowsOK || (!noIndex && overlaps != 0) { throw ExitCode.failure }
    }

    // MARK: Drivers

    /// One thread owns the index and all producers; completions arrive through `inbox`.
    static func runDriver(producers: Int, writer: Writer, workload: Workload, window: Window, seed: UInt64, inbox: Inbox) -> Totals {
        var random = SeededRandom(seed: seed)
        var index = workload.makeIndex()
        var totals = Totals()
        var inFlight = 0
        var number = 0
        let results = Mutex<[(Int, UInt64, Booking, Bool)]>([])  // producer, submitted, booking, committed

        func submitNext(_ producer: Int) {
            while true {
                number += 1
                let booking = workload.booking(&random)
                if workload.useIndex {
                    guard case .reserved = index.reserve(booking.id, on: booking.spaceID, during: booking.range) else {
                        if Load.nanoseconds() >= window.from { totals.refused += 1 }
                        continue
                    }
                }
                let submitted = Load.nanoseconds()
                writer.submit(workload.job(booking)) { result in
                    let ok = (try? result.get()) != nil
                    results.withLock { $0.append((producer, submitted, booking, ok)) }
                }
                inFlight += 1
                return
            }
        }

        for producer in 0..<producers { submitNext(producer) }
        while inFlight > 0 {
            inbox.wait()
            for work in inbox.drain() { work() }  // appends to `results`
            let done = results.withLock { batch in defer { batch.removeAll(keepingCapacity: true) }; return batch }
            let now = Load.nanoseconds()
            for (producer, submitted, booking, ok) in done {
                inFlight -= 1
                if workload.useIndex {
                    if ok { index.confirm(booking.id) } else { index.release(booking.id) }
                }
                totals.record(ok: ok, submitted: submitted, finished: now, window: window)
                if now < window.to { submitNext(producer) }
            }
        }
        return totals
    }

    /// One OS thread per producer, the index behind a lock, completions inline on the writer thread.
    static func runThreads(producers: Int, writer: Writer, workload: Workload, window: Window, seed: UInt64) -> Totals {
        let index = Mutex(workload.makeIndex())
        let all = Mutex(Totals())
        var master = SeededRandom(seed: seed)
        let seeds = (0..<producers).map { _ in master.next() }  // independent streams, not shifted copies
        let finished = DispatchGroup()
        for producer in 0..<producers {
            finished.enter()
            let thread = Thread {
                var random = SeededRandom(seed: seeds[producer])
                var totals = Totals()
                let answered = DispatchSemaphore(value: 0)
                let outcome = Mutex(false)
                var number = 0
                while Load.nanoseconds() < window.to {
                    number += 1
                    let booking = workload.booking(&random)
                    if workload.useIndex {
                        let reserved = index.withLock { index -> Bool in
                            if case .reserved = index.reserve(booking.id, on: booking.spaceID, during: booking.range) { return true }
                            return false
                        }
                        guard reserved else {
                            if Load.nanoseconds() >= window.from { totals.refused += 1 }
                            continue
                        }
                    }
                    let submitted = Load.nanoseconds()
                    writer.submit(workload.job(booking)) { result in
                        outcome.withLock { $0 = (try? result.get()) != nil }
                        answered.signal()
                    }
                    answered.wait()
                    let ok = outcome.withLock { $0 }
                    if workload.useIndex {
                        index.withLock { index in if ok { index.confirm(booking.id) } else { index.release(booking.id) } }
                    }
                    totals.record(ok: ok, submitted: submitted, finished: Load.nanoseconds(), window: window)
                }
                all.withLock { $0.merge(totals) }
                finished.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        finished.wait()
        return all.withLock { $0 }
    }

    // MARK: Parts

    struct Window: Sendable {
        let from: UInt64
        let to: UInt64
    }

    final class Edges: Sendable {
        let before = Mutex<Writer.Statistics?>(nil)
        let after = Mutex<Writer.Statistics?>(nil)
    }

    struct Totals: Sendable {
        var committed = 0
        var acknowledged = 0
        var refused = 0
        var latencies: [UInt64] = []

        mutating func record(ok: Bool, submitted: UInt64, finished: UInt64, window: Window) {
            guard ok else { return }
            acknowledged += 1
            if submitted >= window.from && finished <= window.to {
                committed += 1
                latencies.append(finished - submitted)
            }
        }

        mutating func merge(_ other: Totals) {
            committed += other.committed
            acknowledged += other.acknowledged
            refused += other.refused
            latencies += other.latencies
        }
    }

    /// What the driver thread is handed by the writer: closures to run, and a wake-up.
    final class Inbox: Sendable {
        private let queue = Mutex<[@Sendable () -> Void]>([])
        private let wakeup = DispatchSemaphore(value: 0)

        func post(_ work: @escaping @Sendable () -> Void) {
            queue.withLock { $0.append(work) }
            wakeup.signal()
        }

        func wait() { wakeup.wait() }

        func drain() -> [@Sendable () -> Void] {
            queue.withLock { queue in defer { queue.removeAll(keepingCapacity: true) }; return queue }
        }
    }

    /// Slots, rows and payloads.
    struct Workload: Sendable {
        let spaces: Int
        let events: Int
        let useIndex: Bool
        /// 2030-01-01T00:00:00Z: always in the future.
        static let day0: Int64 = 1_893_456_000

        func makeIndex() -> AvailabilityIndex {
            var index = AvailabilityIndex()
            for space in 0..<spaces { index.setResource("space-\(space)", kind: .exclusive(bufferSeconds: 0)) }
            return index
        }

        /// A random 30-minute to 2-hour booking, on a quarter hour of one of 365 days, created now.
        func booking(_ random: inout SeededRandom) -> Booking {
            let space = Int.random(in: 0..<spaces, using: &random)
            let day = Int64.random(in: 0..<365, using: &random)
            let quarter = Int64.random(in: 28..<84, using: &random)
            let length = Int64.random(in: 2...8, using: &random)
            let start = Self.day0 + day * 86_400 + quarter * 900
            let range = Interval(start: start, end: start + length * 900)
            // Time-ordered ids, as the hub makes them (UUIDv7), and creation and hold times from the clock.
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let now = nowMs / 1000
            return Booking(id: SecureRandom.uuidV7(nowMs: nowMs), userID: "bench-user", kind: .event, spaceID: "space-\(space)",
                           spaceName: "Bench Room \(space)", range: range, zone: .lagos,
                           durationLabel: DurationSpec.label(seconds: range.duration),
                           amount: Money(minorUnits: 1_000_000).scaled(by: range.duration / 60, over: 60),
                           holdExpiresAt: now + 900, specialRequests: nil, createdAt: now, updatedAt: now)
        }

        /// The writer job for `booking`: its row and its events, as the hub's committer writes them.
        func job(_ booking: Booking) -> @Sendable (Database) throws -> Void {
            let payloads = (0..<events).map { Self.payload(booking, event: $0) }
            return { db in
                try BookingTable.insert(booking, db)
                for payload in payloads {
                    _ = try EventLogTable.append(type: "booking_updated", channels: "bookings:bench-user admin", payload: payload,
                                                 at: 0, db)
                }
            }
        }

        /// JSON of the sizes the hub writes: the booking view (~700 bytes) and an availability day (~900 bytes).
        static func payload(_ booking: Booking, event: Int) -> String {
            let start = UTC.iso8601(booking.range.start)
            let end = UTC.iso8601(booking.range.end)
            if event == 0 {
                return """
                    {"id":"\(booking.id)","type":"event","spaceName":"\(booking.spaceName)","date":"\(booking.localDate)",\
                    "time":"\(booking.localStart)","duration":"\(booking.durationLabel)","status":"pending",\
                    "amount":\(booking.amount.majorText),"paymentStatus":"pending","spaceId":"\(booking.spaceID)",\
                    "userId":"\(booking.userID)","endTime":"\(booking.localEnd)","startsAt":"\(start)","endsAt":"\(end)",\
                    "timeZone":"Africa/Lagos","currency":"NGN","holdExpiresAt":"\(start)","specialRequests":null,\
                    "paymentReference":null,"refundDue":false,"cancelReason":null,"createdAt":"\(start)","updatedAt":"\(start)","version":1}
                    """
            }
            let slots = (0..<6).map { _ in #"{"start":"\#(start)","end":"\#(end)"}"# }.joined(separator: ",")
            return """
                {"spaceId":"\(booking.spaceID)","spaceName":"\(booking.spaceName)","type":"event","date":"\(booking.localDate)",\
                "timeZone":"Africa/Lagos","open":[{"start":"\(start)","end":"\(end)"}],"free":[\(slots)],\
                "busy":[{"start":"\(start)","end":"\(end)","status":"held"}],"changed":{"start":"\(start)","end":"\(end)"}}
                """
        }
    }
}
