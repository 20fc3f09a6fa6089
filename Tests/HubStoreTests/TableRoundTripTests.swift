import Foundation
import HubCore
import Testing

@testable import HubStore

/// Every repository writes what it reads back, field for field, on a real SQLite file.
@Suite struct TableRoundTripTests {
    let directory = TempDirectory()
    let db: Database

    init() throws {
        db = try migratedDatabase(directory)
    }

    @Test func users() throws {
        let ada = Fixtures.user("u1", email: "ada@example.com")
        try UserTable.insert(ada, db)
        #expect(try UserTable.find("u1", db) == ada)
        #expect(try UserTable.find(email: "ada@example.com", db) == ada)
        #expect(try UserTable.find("u2", db) == nil)
        let duplicate = #expect(throws: StoreError.self) { try UserTable.insert(Fixtures.user("u2", email: "ada@example.com"), db) }
        #expect(duplicate?.isUniqueViolation == true)
        var renamed = ada
        renamed.firstName = "Adaeze"
        renamed.phone = nil
        renamed.updatedAt += 60
        try UserTable.updateProfile(renamed, db)
        #expect(try UserTable.find("u1", db) == renamed)
        try UserTable.updateStatus(userID: "u1", status: .suspended, reason: "chargebacks", now: renamed.updatedAt, db)
        #expect(try UserTable.find("u1", db)?.status == .suspended)
        try UserTable.insert(Fixtures.user("u3", email: "100%_real@example.com"), db)
        let found = try UserTable.search("adaeze", currency: "NGN", limit: 10, offset: 0, db)
        #expect(found.total == 1)
        #expect(found.users.first?.suspendedReason == "chargebacks")
        // LIKE wildcards in the search text are literal.
        #expect(try UserTable.search("100%_", currency: "NGN", limit: 10, offset: 0, db).users.map(\.user.id) == ["u3"])
        #expect(try UserTable.search("%", currency: "NGN", limit: 10, offset: 0, db).total == 1)
        #expect(try UserTable.search(nil, currency: "NGN", limit: 10, offset: 0, db).total == 2)
    }

    @Test func admins() throws {
        let admin = AdminUser(id: "a1", email: "admin@spacehub.local", passwordHash: "h", name: "Admin", role: .superAdmin,
                              createdAt: Fixtures.t0, updatedAt: Fixtures.t0)
        try AdminTable.insert(admin, db)
        #expect(try AdminTable.find("a1", db) == admin)
        try AdminTable.recordLogin("a1", at: Fixtures.t0 + 5, db)
        #expect(try AdminTable.find(email: "admin@spacehub.local", db)?.lastLogin == Fixtures.t0 + 5)
        #expect(try AdminTable.count(db) == 1)
    }

    @Test func bookings() throws {
        try UserTable.insert(Fixtures.user(), db)
        var booking = Fixtures.booking("b1")
        try BookingTable.insert(booking, db)
        #expect(try BookingTable.find("b1", db) == booking)
        // A zone other than Lagos, and a start on another date locally (00:30 BST) than in UTC (23:30).
        var london = Fixtures.booking("b2", start: Fixtures.t0 - 1800)
        london.zone = Zone("Europe/London")!
        london.specialRequests = nil
        try BookingTable.insert(london, db)
        #expect(try BookingTable.find("b2", db) == london)
        #expect(try db.queryOne("SELECT booking_date FROM bookings WHERE id = 'b2'") { $0.string(0) } == "2026-06-01")

        // Optimistic update: version n+1 over n succeeds once; a stale writer is refused.
        booking.status = .confirmed
        booking.paymentState = .paid
        booking.holdExpiresAt = nil
        booking.paymentReference = "ref-1"
        booking.version = 2
        booking.updatedAt += 10
        #expect(try BookingTable.update(booking, db))
        #expect(try BookingTable.find("b1", db) == booking)
        #expect(try BookingTable.update(booking, db) == false)
        booking.status = .cancelled
        booking.refundDue = true
        booking.cancelReason = "rain"
        booking.version = 3
        #expect(try BookingTable.update(booking, db))
        #expect(try BookingTable.find("b1", db) == booking)
    }

    @Test func bookingQueries() throws {
        try UserTable.insert(Fixtures.user(), db)
        try UserTable.insert(Fixtures.user("user-2"), db)
        let now = Fixtures.t0 + 600
        let rows = [
            Fixtures.booking("held", hold: now + 1, createdAt: 1),  // live hold
            Fixtures.booking("lapsed", start: Fixtures.t0 + 20 * 3600, hold: now, createdAt: 2),  // expires exactly now
            Fixtures.booking("confirmed", space: "hall", status: .confirmed, hold: nil, createdAt: 3),
            Fixtures.booking("cancelled", status: .cancelled, createdAt: 4),
            Fixtures.booking("expired", status: .expired, hold: now - 100, createdAt: 5),
            Fixtures.booking("other-user", user: "user-2", start: Fixtures.t0 + 3 * 86_400, status: .confirmed, hold: nil, createdAt: 6),
        ]
        for row in rows { try BookingTable.insert(row, db) }
        #expect(try BookingTable.holdingTime(now: now, completedSince: now, db).map(\.id).sorted() == ["confirmed", "held", "other-user"])
        // Completed bookings stay while they ended after `completedSince` (the grid shows today's).
        try BookingTable.insert(Fixtures.booking("done", status: .completed, hold: nil, createdAt: 7), db)  // ends t0 + 10 h
        let end = Fixtures.t0 + 10 * 3600
        #expect(try BookingTable.holdingTime(now: now, completedSince: end - 1, db).map(\.id).contains("done"))
        #expect(try !BookingTable.holdingTime(now: now, completedSince: end, db).map(\.id).contains("done"))
        try db.execute("DELETE FROM bookings WHERE id = 'done'")
        #expect(try BookingTable.expiredHolds(now: now, limit: 10, db).map(\.id) == ["lapsed"])
        #expect(try BookingTable.expiredHolds(now: now - 1, limit: 10, db).isEmpty)
        let page = try BookingTable.list(userID: "user-1", status: nil, limit: 2, offset: 0, db)
        #expect(page.bookings.map(\.id) == ["expired", "cancelled"])
        #expect(page.total == 5)
        #expect(try BookingTable.list(userID: "user-1", status: "pending", limit: 10, offset: 0, db).bookings.map(\.id) == ["lapsed", "held"])
        #expect(try BookingTable.list(userID: "user-1", status: "pending", limit: 10, offset: 1, db).total == 2)
        let morning = Interval(start: Fixtures.t0 + 9 * 3600, end: Fixtures.t0 + 10 * 3600)
        #expect(try BookingTable.forSpace("room", from: morning.start, to: morning.end, db).map(\.id).sorted()
            == ["cancelled", "expired", "held"])
        // Half-open: a range ending where the bookings start does not overlap them.
        #expect(try BookingTable.forSpace("room", from: morning.start - 3600, to: morning.start, db).isEmpty)
        #expect(try BookingTable.overlapping(from: morning.start, to: morning.end, db).count == 4)
        #expect(try BookingTable.forUser("user-2", limit: 5, db).map(\.id) == ["other-user"])
        #expect(try BookingTable.createdBetween(from: 2, to: 4, db).map(\.id) == ["lapsed", "confirmed"])
    }

    /// The start-up read split over rowid ranges and connections returns exactly the rows of the
    /// one-connection read (in no set order, like it), whatever the split (ranges empty, uneven,
    /// or one row wide).
    @Test func holdingTimeReadInPartsMatchesTheOneConnectionRead() throws {
        #expect(try BookingTable.holdingTime(now: Fixtures.t0, completedSince: Fixtures.t0, location: .sqlite(path: directory.database), parts: 3,
                                             parallelRowsMin: 1).isEmpty)
        try UserTable.insert(Fixtures.user(), db)
        let statuses: [BookingStatus] = [.pending, .confirmed, .cancelled, .completed, .expired]
        for number in 0..<301 {
            let status = statuses[number % statuses.count]
            try BookingTable.insert(Fixtures.booking("b\(number)", start: Fixtures.t0 + Int64(number) * 3600, status: status,
                                                     hold: status == .pending ? Fixtures.t0 + Int64(number % 7) * 600 : nil,
                                                     createdAt: Int64(number)), db)
        }
        try db.execute("DELETE FROM bookings WHERE id IN ('b5', 'b6', 'b7', 'b100')")  // gaps in the rowids
        let now = Fixtures.t0 + 1800, completedSince = Fixtures.t0 + 100 * 3600
        let byID = { (a: Booking, b: Booking) in a.id < b.id }
        let whole = try BookingTable.holdingTime(now: now, completedSince: completedSince, db).sorted(by: byID)
        #expect(whole.count > 100)
        // Through the status index (no range is all bookings that hold time), walking the
        // table (every range), and as the share of each range decides.
        for scanShareMin in [2.0, 0, 0.5] {
            for parts in [1, 2, 3, 7, 400] {
                let split = try BookingTable.holdingTime(now: now, completedSince: completedSince, location: .sqlite(path: directory.database),
                                                         parts: parts, parallelRowsMin: 1, scanShareMin: scanShareMin)
                #expect(split.count == whole.count, "\(parts) parts, scan from \(scanShareMin)")
                #expect(split.sorted(by: byID) == whole, "\(parts) parts, scan from \(scanShareMin)")
            }
        }
        // Under the threshold: one connection, the same rows.
        #expect(try BookingTable.holdingTime(now: now, completedSince: completedSince, location: .sqlite(path: directory.database), parts: 2)
            .sorted(by: byID) == whole)
    }

    @Test func payments() throws {
        try UserTable.insert(Fixtures.user(), db)
        try BookingTable.insert(Fixtures.booking("b1"), db)
        let first = Fixtures.payment("p1", booking: "b1", reference: "ref-1")
        try PaymentTable.insert(first, db)
        #expect(try PaymentTable.find("p1", db) == first)
        #expect(try PaymentTable.find(reference: "ref-1", db) == first)
        #expect(try PaymentTable.open(bookingID: "b1", db) == first)
        // One open payment per booking (partial unique index) and unique references.
        let secondOpen = #expect(throws: StoreError.self) {
            try PaymentTable.insert(Fixtures.payment("p2", booking: "b1", reference: "ref-2"), db)
        }
        #expect(secondOpen?.isUniqueViolation == true)
        let sameReference = #expect(throws: StoreError.self) {
            try PaymentTable.insert(Fixtures.payment("p2", booking: "b1", reference: "ref-1", status: .failed), db)
        }
        #expect(sameReference?.isUniqueViolation == true)
        // Settling is conditional on the status we last saw.
        var failed = first
        failed.status = .failed
        failed.gatewayResponse = #"{"status":"failed"}"#
        failed.updatedAt += 5
        #expect(try PaymentTable.update(failed, expectedStatus: .pending, db))
        #expect(try PaymentTable.update(failed, expectedStatus: .pending, db) == false)
        #expect(try PaymentTable.find("p1", db) == failed)
        #expect(try PaymentTable.open(bookingID: "b1", db) == nil)
        var retry = Fixtures.payment("p2", booking: "b1", reference: "ref-2")
        try PaymentTable.insert(retry, db)
        retry.status = .successful
        retry.verifiedAt = Fixtures.t0 + 60
        #expect(try PaymentTable.update(retry, expectedStatus: .pending, db))
        #expect(try PaymentTable.forBooking("b1", db).map(\.id) == ["p1", "p2"])
        #expect(try PaymentTable.count(status: "successful", db) == 1)
        #expect(try PaymentTable.list(status: "failed", limit: 10, offset: 0, db).payments == [failed])

        let refund = PaymentTable.Refund(id: "r1", paymentID: "p2", amountMinor: 400_000, status: "pending", gatewayReference: nil,
                                         reason: "cancelled early", requestedBy: "a1", createdAt: Fixtures.t0, updatedAt: Fixtures.t0)
        try PaymentTable.insertRefund(refund, db)
        #expect(try PaymentTable.refunds(paymentID: "p2", db) == [refund])
        let second = PaymentTable.Refund(id: "r2", paymentID: "p2", amountMinor: 100_000, status: "pending", gatewayReference: nil,
                                         reason: "partial", requestedBy: "a1", createdAt: Fixtures.t0, updatedAt: Fixtures.t0)
        try PaymentTable.insertRefund(second, db)
        // Only the named refunds move, and only from pending.
        #expect(try PaymentTable.settleRefunds(ids: ["r1"], status: "processed", at: Fixtures.t0 + 1, db) == 1)
        #expect(try PaymentTable.settleRefunds(ids: ["r1"], status: "failed", at: Fixtures.t0 + 2, db) == 0)
        #expect(try PaymentTable.refunds(paymentID: "p2", db).map(\.status) == ["processed", "pending"])

        #expect(try PaymentTable.recordWebhook(gateway: "paystack", event: "charge.success", key: "ref-2", payload: "{}", at: 1, db))
        #expect(try PaymentTable.recordWebhook(gateway: "paystack", event: "charge.success", key: "ref-2", payload: "{}", at: 2, db) == false)
        #expect(try PaymentTable.webhookSeen(gateway: "paystack", event: "charge.success", key: "ref-2", db))
        #expect(try PaymentTable.webhookSeen(gateway: "paystack", event: "refund.processed", key: "ref-2", db) == false)
    }

    @Test func refundsOwedAfterARestart() throws {
        try UserTable.insert(Fixtures.user(), db)
        /// A booking in `status` paid by a successful payment, with its refund due or not.
        func paid(_ n: Int, _ status: BookingStatus, refundDue: Bool, flagged: String? = nil, refunded: Int64 = 0) throws {
            var booking = Fixtures.booking("b\(n)", start: Fixtures.t0 + Int64(n) * 7200, status: status, hold: nil)
            booking.paymentState = .paid
            booking.refundDue = refundDue
            try BookingTable.insert(booking, db)
            var payment = Fixtures.payment("p\(n)", booking: "b\(n)", reference: "ref-\(n)", status: .successful)
            payment.flagged = flagged
            payment.refundedAmount = Money(minorUnits: refunded)
            try PaymentTable.insert(payment, db)
        }
        try paid(1, .cancelled, refundDue: true)  // cancelled in policy, refund never started
        try paid(2, .cancelled, refundDue: true, flagged: "refund failed at the gateway")  // waits for an admin
        try paid(3, .expired, refundDue: false, flagged: "automatic refund pending: slot taken")  // stopped mid-call
        try paid(4, .cancelled, refundDue: true, refunded: 1_000_000)  // refund recorded, pending at the gateway
        try paid(5, .confirmed, refundDue: false)  // nothing owed
        try paid(6, .cancelled, refundDue: false)  // cancelled too late for a refund
        let owed = try PaymentTable.owedRefunds(flaggedPrefix: "automatic refund pending: ", db)
        #expect(owed.map(\.id) == ["p1", "p3"])
    }

    @Test func outbox() throws {
        try OutboxTable.enqueueEmail(to: "ada@example.com", template: "reminder", payload: #"{"id":"b1"}"#, dedupeKey: "reminder:b1", at: 100, db)
        try OutboxTable.enqueueEmail(to: "ada@example.com", template: "reminder", payload: #"{"id":"b1"}"#, dedupeKey: "reminder:b1", at: 101, db)
        try OutboxTable.enqueueEmail(to: "bo@example.com", template: "welcome", payload: "{}", at: 50, db)
        try OutboxTable.enqueueEmail(to: "bo@example.com", template: "welcome", payload: "{}", at: 200, db)  // no key: not deduplicated
        #expect(try OutboxTable.list(status: nil, limit: 10, offset: 0, db).total == 3)
        let due = try OutboxTable.due(now: 150, limit: 10, db)
        #expect(due.map(\.recipient) == ["bo@example.com", "ada@example.com"])
        let reminder = try #require(due.last)
        #expect(reminder.template == "reminder" && reminder.payload == #"{"id":"b1"}"# && reminder.status == "pending")
        #expect(reminder.attempts == 0 && reminder.nextAttemptAt == 100 && reminder.createdAt == 100 && reminder.sentAt == nil)

        try OutboxTable.markFailed(reminder.id, error: "421 try later", retryAt: 300, db)
        #expect(try !OutboxTable.due(now: 299, limit: 10, db).contains { $0.id == reminder.id })
        #expect(try OutboxTable.due(now: 300, limit: 10, db).contains { $0.id == reminder.id })
        try OutboxTable.markFailed(reminder.id, error: "550 no such user", retryAt: nil, db)
        let dead = try #require(try OutboxTable.list(status: "dead", limit: 10, offset: 0, db).messages.first)
        #expect(dead.id == reminder.id && dead.attempts == 2 && dead.lastError == "550 no such user")
        #expect(try OutboxTable.retry(reminder.id, at: 400, db))
        #expect(try OutboxTable.retry(reminder.id, at: 400, db) == false)  // only dead messages
        try OutboxTable.markSent(reminder.id, at: 401, db)
        let sent = try #require(try OutboxTable.latest(to: "ada@example.com", template: "reminder", db))
        #expect(sent.status == "sent" && sent.sentAt == 401 && sent.attempts == 3 && sent.lastError == nil)
    }

    @Test func idempotencyKeys() throws {
        let entry = IdempotencyTable.Entry(requestHash: "abc", status: 201, body: #"{"id":"b1"}"#)
        try IdempotencyTable.insert(principalID: "u1", key: "k1", entry: entry, at: 100, db)
        #expect(try IdempotencyTable.find(principalID: "u1", key: "k1", db) == entry)
        #expect(try IdempotencyTable.find(principalID: "u2", key: "k1", db) == nil)
        let again = #expect(throws: StoreError.self) { try IdempotencyTable.insert(principalID: "u1", key: "k1", entry: entry, at: 101, db) }
        #expect(again?.isUniqueViolation == true)
        #expect(try IdempotencyTable.prune(before: 100, db) == 0)
        #expect(try IdempotencyTable.prune(before: 101, db) == 1)
    }

    /// `seq` grows in insert order and is never handed out twice, even after pruning every row.
    @Test func eventLogSeqIsNeverReused() throws {
        #expect(try EventLogTable.lastSeq(db) == 0)
        var seqs: [Int64] = []
        for n in 0..<5 {
            seqs.append(try EventLogTable.append(type: "booking_updated", channels: "bookings:u1 admin", payload: #"{"n":\#(n)}"#,
                                                 at: Int64(1_000 + n), db))
        }
        #expect(seqs == [1, 2, 3, 4, 5])
        #expect(try EventLogTable.recent(limit: 2, db).map(\.seq) == [4, 5])
        let newest = try #require(try EventLogTable.recent(limit: 1, db).first)
        #expect(newest == EventLogTable.Entry(seq: 5, type: "booking_updated", channels: "bookings:u1 admin", payload: #"{"n":4}"#,
                                              createdAt: 1_004))
        #expect(try EventLogTable.prune(keep: 2, before: 0, db) == 3)
        #expect(try EventLogTable.recent(limit: 10, db).map(\.seq) == [4, 5])
        #expect(try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: 2_000, db) == 6)
        #expect(try EventLogTable.prune(keep: 0, before: .max, db) == 3)
        #expect(try EventLogTable.recent(limit: 10, db).isEmpty)
        #expect(try EventLogTable.lastSeq(db) == 6)
        #expect(try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: 3_000, db) == 7)
        // And across a reopen of the file.
        let reopened = try Database(path: directory.database, durability: .off)
        #expect(try EventLogTable.lastSeq(reopened) == 7)
        #expect(try EventLogTable.append(type: "t", channels: "c", payload: "{}", at: 4_000, reopened) == 8)
    }

    /// Audit rows are append-only: triggers refuse UPDATE and DELETE whatever the SQL.
    @Test func auditLogsAreAppendOnly() throws {
        let entry = AuditTable.Entry(id: "audit-1", adminID: "a1", action: "update", resource: "event_space", resourceID: "hall",
                                     oldValues: #"{"price":"80000"}"#, newValues: #"{"price":"90000"}"#, ipAddress: "127.0.0.1",
                                     userAgent: "curl/8", createdAt: 100)
        let bare = AuditTable.Entry(id: "audit-2", adminID: nil, action: "login", resource: "admin", resourceID: nil, oldValues: nil,
                                    newValues: nil, ipAddress: nil, userAgent: nil, createdAt: 200)
        try AuditTable.insert(entry, db)
        try AuditTable.insert(bare, db)
        #expect(try AuditTable.list(.init(), limit: 10, offset: 0, db).entries == [bare, entry])
        #expect(try AuditTable.list(.init(actor: "a1"), limit: 10, offset: 0, db).entries == [entry])
        #expect(try AuditTable.list(.init(resource: "admin", from: 150, to: 250), limit: 10, offset: 0, db).entries == [bare])
        for sql in ["UPDATE audit_logs SET action = 'nothing'", "UPDATE audit_logs SET new_values = NULL WHERE id = 'audit-1'",
                    "DELETE FROM audit_logs", "DELETE FROM audit_logs WHERE id = 'audit-2'"] {
            let error = #expect(throws: StoreError.self) { try db.execute(sql) }
            #expect(error?.code == SQLiteCode.constraintTrigger, "\(sql)")
            #expect(error?.message.contains("append-only") == true)
        }
        #expect(try AuditTable.list(.init(), limit: 10, offset: 0, db).entries == [bare, entry])
        #expect(throws: StoreError.self) { try AuditTable.insert(entry, db) }  // ids are unique too
    }

    @Test func spaces() throws {
        let hall = Space(id: "hall", kind: .event, name: "Event Hall", description: "For 200", capacity: 200,
                         price: Money(minorUnits: 8_000_000), features: ["Stage", "Sound"], images: ["/h.jpg"],
                         hours: .weekdays(open: 480, close: 1200, saturday: .init(open: 540, close: 1020)),
                         zone: Zone("Europe/London")!, minimumMinutes: 120, maximumMinutes: 840, bufferMinutes: 60,
                         blackoutDates: [LocalDate("2026-12-25")!, LocalDate("2026-01-01")!], version: 3, createdAt: 10, updatedAt: 20)
        let desk = Space(id: "desk", kind: .coworking, name: "Hot Desk", capacity: 40, seats: 40, price: Money(minorUnits: 500_000),
                         priceUnit: .day, features: ["Wi-Fi"], popular: true, isActive: false, hours: .always,
                         minimumMinutes: 60, maximumMinutes: 1440, createdAt: 5, updatedAt: 5)
        try SpaceTable.save(hall, db)
        try SpaceTable.save(desk, db)
        let loaded = try SpaceTable.loadAll(db)
        #expect(loaded == [desk, hall])
        var renamed = hall
        renamed.name = "Great Hall"
        renamed.version = 4
        try SpaceTable.save(renamed, db)
        #expect(try SpaceTable.loadAll(db).last == renamed)
        #expect(try SpaceTable.count(db) == 2)
    }

    @Test func metaAndSettings() throws {
        #expect(try MetaTable.get("event_epoch", db) == nil)
        try MetaTable.set("event_epoch", "e1", db)
        try MetaTable.set("event_epoch", "e2", db)
        #expect(try MetaTable.get("event_epoch", db) == "e2")
        try SettingsTable.set("bookings.holdMinutes", value: "20", description: nil, by: "a1", at: 1, db)
        try SettingsTable.set("bookings.holdMinutes", value: "25", description: nil, by: "a1", at: 2, db)
        #expect(try SettingsTable.all(db).map { "\($0.key)=\($0.value)" } == ["bookings.holdMinutes=25"])
    }
}
