import Dispatch
import Foundation
import HubCore
import Synchronization
import Testing

@testable import HubStore

/// A directory under the system temp dir, removed (with the database and its WAL) on deinit.
/// Swift may release a local after its last use: tests keep it alive to their end with
/// `withExtendedLifetime`, so it is not removed under a writer still using it.
final class TempDirectory {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "spacehub-store-\(safe)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var database: String { path + "/hub.sqlite" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A migrated database on a fresh file. `durability: .off` keeps logic tests fast; the writer's
/// durability tests pass `.full` themselves.
func migratedDatabase(_ directory: TempDirectory, durability: Database.Durability = .off) throws -> Database {
    let database = try Database(path: directory.database, durability: durability)
    try Migrations.migrate(database)
    return database
}

/// SQLite result codes the tests inject or expect (macros in sqlite3.h, not imported here).
enum SQLiteCode {
    static let busy: Int32 = 5
    static let readOnly: Int32 = 8
    static let ioError: Int32 = 10
    static let constraint: Int32 = 19
    static let misuse: Int32 = 21
    static let range: Int32 = 25
    static let constraintForeignKey: Int32 = 787
    static let constraintTrigger: Int32 = 1811
    static let constraintPrimaryKey: Int32 = 1555
}

enum Fixtures {
    static let t0: Int64 = 1_780_272_000  // 2026-06-01T00:00:00Z

    static func user(_ id: String = "user-1", email: String? = nil) -> User {
        User(id: id, email: email ?? "\(id)@example.com", passwordHash: "scrypt$hash", firstName: "Ada", lastName: "Obi",
             phone: "+2348012345678", emailVerified: true, createdAt: t0, updatedAt: t0)
    }

    static func booking(_ id: String, user: String = "user-1", space: String = "room", start: Int64 = t0 + 9 * 3600,
                        minutes: Int64 = 60, status: BookingStatus = .pending, hold: Int64? = t0 + 900,
                        createdAt: Int64 = t0) -> Booking {
        Booking(id: id, userID: user, kind: .event, spaceID: space, spaceName: "Room \(space)",
                range: Interval(start: start, end: start + minutes * 60), zone: .lagos, durationLabel: "\(minutes) minutes",
                amount: Money(minorUnits: 1_000_000 * minutes / 60), status: status, paymentState: .pending,
                holdExpiresAt: hold, specialRequests: "Projector, please — and “tea”", createdAt: createdAt, updatedAt: createdAt)
    }

    static func payment(_ id: String, booking: String, reference: String, status: PaymentStatus = .pending) -> Payment {
        Payment(id: id, bookingID: booking, userID: "user-1", amount: Money(minorUnits: 1_000_000), method: "card",
                gateway: "sandbox", reference: reference, accessCode: "ac_\(id)", authorizationURL: "https://pay.example/\(id)",
                status: status, gatewayResponse: nil, createdAt: t0, updatedAt: t0)
    }
}

/// Collects writer completions from any thread and lets a test wait for a count of them, failing
/// (instead of hanging) after `timeout`.
final class Completions<Value: Sendable>: Sendable {
    private let results = Mutex<[Value]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func record(_ value: Value) {
        results.withLock { $0.append(value) }
        arrived.signal()
    }

    /// Waits for `count` more arrivals; false on timeout.
    @discardableResult
    func wait(for count: Int, timeout: TimeInterval = 30) -> Bool {
        let deadline = DispatchTime.now() + timeout
        for _ in 0..<count where arrived.wait(timeout: deadline) == .timedOut {
            Issue.record("timed out waiting for \(count) completions")
            return false
        }
        return true
    }

    var values: [Value] { results.withLock { $0 } }
}

/// A writer whose `deliver` runs completions inline on the writer thread and counts its calls.
final class TestWriter: Sendable {
    let writer: Writer
    private let deliveries: Counter

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    init(path: String, durability: Database.Durability = .off, batchMax: Int = 4096) throws {
        let deliveries = Counter()
        self.deliveries = deliveries
        writer = try Writer(path: path, durability: durability, batchMax: batchMax) { work in
            deliveries.value.withLock { $0 += 1 }
            work()
        }
    }

    var deliveryCount: Int { deliveries.value.withLock { $0 } }

    /// Submits a job that blocks the writer thread until the returned gate is opened, and waits
    /// until the writer has taken it: everything submitted before opening lands in later groups.
    func closeGate() -> DispatchSemaphore {
        let started = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        writer.submit({ _ in
            started.signal()
            _ = gate.wait(timeout: .now() + 30)
        }) { _ in }
        _ = started.wait(timeout: .now() + 30)
        return gate
    }

    /// A fault seam that answers each COMMIT with the next planned code (nil: commit normally).
    func planFaults(_ plan: [Int32?]) {
        let remaining = Mutex(plan)
        writer.faultBeforeCommit.withLock { seam in
            seam = { remaining.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
        }
    }

    deinit { writer.stop() }
}

struct InjectedJobError: Error, Equatable {}

func sqliteCode(_ error: (any Error)?) -> Int32? { (error as? StoreError)?.code }
