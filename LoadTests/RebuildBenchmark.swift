import ArgumentParser
import Foundation
import HubCore
import HubLoop
import HubStore
import HubTestSupport

/// `spacehub-load rebuild`: the hub's start-up rebuild of the availability index from SQLite, at
/// building scale (issue 4: 1,000,000 bookings on 1,000 spaces in under 2 s).
///
/// Writes the index benchmark's workload (same generator and seed) into a fresh database file as
/// confirmed bookings and their spaces, then times exactly what `Hub.start` does before it
/// serves: open a read connection, `SpaceTable.loadAll`, `BookingTable.holdingTime`, and
/// `AvailabilityIndex(resources:reservations:)`. The file is written once (tens of seconds) and
/// may be kept with `--path` and `--keep` for repeated runs.
///
///     scripts/bench-index.sh             # runs `index`, then this
///     .build/release/spacehub-load rebuild --bookings 1000000 --resources 1000
struct RebuildBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Benchmark the start-up rebuild of the availability index from SQLite."
    )

    /// From opening the database to a built index, in nanoseconds (issue 4).
    static let rebuildNanosecondsMax: UInt64 = 2_000_000_000

    @Option(help: "Bookings in total.") var bookings = 1_000_000
    @Option(help: "Resources (spaces and plans) they spread over.") var resources = 1_000
    @Option(help: "Seed for the workload (the index benchmark's generator).") var seed: UInt64 = 1
    @Option(help: "Database file; reused when it already holds the workload.") var path: String?
    @Flag(help: "Keep the database file afterwards.") var keep = false
    @Option(help: "Connections (threads) reading the bookings, as the hub does (default: cores, at most 4).")
    var readers = min(Loop.availableParallelism, 4)

    mutating func run() throws {
        let file = path ?? NSTemporaryDirectory() + "spacehub-rebuild-bench-\(getpid()).sqlite"
        defer {
            if !keep {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) }
            }
        }
        print("rebuild benchmark: \(bookings) bookings on \(resources) resources, seed \(seed)")
        print("  machine: \(Load.machine())")
        var random = SeededRandom(seed: seed)
        let workload = IndexWorkload(bookings: bookings, resources: resources, random: &random)
        try prepare(file, workload)

        // Exactly the start-up path (Hub.start → SpaceCatalog, BookingService.rebuild).
        let now = IndexWorkload.epoch - IndexWorkload.day
        let started = Load.nanoseconds()
        let reader = try Database(path: file, readOnly: true)
        let spaces = try SpaceTable.loadAll(reader)
        let loadedSpaces = Load.nanoseconds()
        let rows = try BookingTable.holdingTime(now: now, completedSince: now, location: .sqlite(path: file), parts: readers)
        let loadedRows = Load.nanoseconds()
        var reservations: [AvailabilityIndex.Reservation] = []
        reservations.reserveCapacity(rows.count)
        for booking in rows where booking.holdsTime(at: now) {
            reservations.append(.init(id: booking.id, resourceID: booking.spaceID, interval: booking.range, isTentative: false))
        }
        let index = AvailabilityIndex(resources: spaces.map { ($0.id, $0.resourceKind) }, reservations: reservations)
        let built = Load.nanoseconds()
        precondition(index.count == bookings, "rebuilt \(index.count) of \(bookings) bookings")

        let total = built - started
        print("start-up rebuild from \(file)")
        print("  open + SpaceTable.loadAll (\(spaces.count) spaces): \(Load.millis(loadedSpaces - started))")
        print("  BookingTable.holdingTime (\(rows.count) rows decoded): \(Load.millis(loadedRows - loadedSpaces))")
        print("  AvailabilityIndex(resources:reservations:): \(Load.millis(built - loadedRows))")
        print("  total: \(Load.millis(total))")
        let ok = total <= Self.rebuildNanosecondsMax
        print("threshold")
        print("  rebuild from SQLite \(Load.millis(total)) <= \(Load.millis(Self.rebuildNanosecondsMax)): \(ok ? "ok" : "MISSED")")
        if !ok { throw ExitCode.failure }
    }

    /// Writes the workload as spaces and confirmed bookings, unless `file` already holds it.
    private func prepare(_ file: String, _ workload: IndexWorkload) throws {
        let db = try Database(path: file, durability: .off)
        try Migrations.migrate(db)
        if try db.scalar("SELECT COUNT(*) FROM bookings") == Int64(bookings) {
            print("  reusing \(file)")
            return
        }
        let started = Load.nanoseconds()
        try db.execute("DELETE FROM bookings")
        try db.execute("DELETE FROM event_spaces")
        try db.execute("DELETE FROM coworking_plans")
        try db.execute("INSERT OR IGNORE INTO users (id, email, password_hash, first_name, last_name, created_at, updated_at) "
                       + "VALUES ('bench-user', 'bench@example.com', 'x', 'Bench', 'User', 0, 0)")
        var kinds: [String: SpaceKind] = [:]
        try db.transaction { () throws(StoreError) in
            for (number, resource) in workload.resources.enumerated() {
                let space: Space
                switch resource.kind {
                case .exclusive(let buffer):
                    space = Space(id: resource.id, kind: .event, name: "Room \(number)", price: Money(minorUnits: 1_000_000),
                                  hours: .always, minimumMinutes: 30, maximumMinutes: 1440, bufferMinutes: Int(buffer / 60))
                case .seated(let seats):
                    space = Space(id: resource.id, kind: .coworking, name: "Plan \(number)", capacity: seats, seats: seats,
                                  price: Money(minorUnits: 500_000), priceUnit: .hour, hours: .always, minimumMinutes: 60,
                                  maximumMinutes: 1440)
                }
                kinds[resource.id] = space.kind
                try SpaceTable.save(space, db)
            }
        }
        let batch = 50_000
        var offset = 0
        while offset < workload.reservations.count {
            let slice = workload.reservations[offset..<min(offset + batch, workload.reservations.count)]
            try db.transaction { () throws(StoreError) in
                for reservation in slice {
                    let created = reservation.interval.start - 30 * IndexWorkload.day
                    let booking = Booking(
                        id: reservation.id, userID: "bench-user", kind: kinds[reservation.resourceID] ?? .event,
                        spaceID: reservation.resourceID, spaceName: "Space", range: reservation.interval, zone: .lagos,
                        durationLabel: DurationSpec.label(seconds: reservation.interval.duration),
                        amount: Money(minorUnits: 1_000_000), status: .confirmed, paymentState: .paid,
                        createdAt: created, updatedAt: created)
                    try BookingTable.insert(booking, db)
                }
            }
            offset += batch
        }
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print("  wrote \(workload.reservations.count) bookings and \(workload.resources.count) spaces in "
              + "\(Load.millis(Load.nanoseconds() - started))")
    }
}
