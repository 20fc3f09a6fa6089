import Foundation
import HubCore
import HubStore
import HubTestSupport
import HubWire
import Testing

@testable import HubServer

/// Short ways to do what many in-process tests do: hold a slot, open and settle a sandbox
/// payment, read a booking or a payment, read the outbox.
extension TestHub {
    /// A member's hold of `room` on `date` from `from` to `to` (an event space).
    @discardableResult
    func hold(_ member: Member, room: String, date: String, from: String = "10:00", to: String = "11:00",
              sourceLocation: SourceLocation = #_sourceLocation) -> Answer {
        request("POST", "/api/bookings", json: [
            "type": "event", "spaceId": .string(room), "date": .string(date), "startTime": .string(from), "endTime": .string(to),
        ], token: member.token, sourceLocation: sourceLocation)
    }

    /// Runs `first` on a hub, stops it, and starts another on its database `laterSeconds` on
    /// (the second hub's clock starts where the first one's stopped, or later).
    static func restarted(after laterSeconds: Int64 = 0, _ configure: @escaping (inout Config) -> Void = { _ in },
                          _ first: (TestHub) throws -> Void) throws -> TestHub {
        let directory: URL
        let stoppedAt: Int64
        let postgres: PostgresDatabase?
        do {
            let hub = try TestHub(configure)
            try first(hub)
            hub.settle()
            directory = hub.directory
            stoppedAt = hub.clock.milliseconds
            postgres = hub.postgres
            hub.keepsDirectory = true
        }
        return try TestHub(startingAt: stoppedAt + laterSeconds * 1000, reopening: directory, reopeningPostgres: postgres, configure)
    }

    /// A hub with an admin, a room open at all hours, and a member's hold on it three days ahead.
    static func withHold() throws -> (hub: TestHub, admin: Member, room: String, member: Member, booking: String) {
        let hub = try TestHub()
        let admin = try hub.admin()
        let room = hub.openRoom(admin: admin)
        let member = hub.member()
        let booking = try hub.heldID(member, room: room, date: hub.date(inDays: 3))
        return (hub, admin, room, member, booking)
    }

    /// A hold that must succeed; its id.
    func heldID(_ member: Member, room: String, date: String, from: String = "10:00", to: String = "11:00",
                sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let answer = hold(member, room: room, date: date, from: from, to: to, sourceLocation: sourceLocation)
        #expect(answer.status == 201, "hold: \(String(decoding: answer.body, as: UTF8.self))", sourceLocation: sourceLocation)
        return try #require(answer["id"]?.stringValue, sourceLocation: sourceLocation)
    }

    /// `POST /api/payments/initialize` for `bookingID` at `amount` major units.
    @discardableResult
    func initialize(_ member: Member, booking bookingID: String, amount: JSON, currency: String = "NGN", method: String = "card",
                    sourceLocation: SourceLocation = #_sourceLocation) -> Answer {
        request("POST", "/api/payments/initialize", json: [
            "bookingId": .string(bookingID), "amount": amount, "currency": .string(currency), "paymentMethod": .string(method),
        ], token: member.token, sourceLocation: sourceLocation)
    }

    /// Presses Pay (or Decline) on the sandbox checkout of `reference`.
    @discardableResult
    func sandbox(_ reference: String, pay: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) -> Answer {
        let answer = request("POST", "/pay/sandbox/\(reference)/\(pay ? "pay" : "decline")", sourceLocation: sourceLocation)
        settle(sourceLocation: sourceLocation)
        return answer
    }

    /// A booking as its owner (or an admin) reads it.
    func booking(_ id: String, as member: Member, sourceLocation: SourceLocation = #_sourceLocation) -> JSON {
        request("GET", "/api/bookings/\(id)", token: member.token, sourceLocation: sourceLocation).json
    }

    /// A payment as the store holds it now.
    func payment(_ id: String) -> Payment? { try? PaymentTable.find(id, services.storage.reader) }

    /// Outbox rows using `template`, to `recipient` when given, oldest first.
    func outbox(_ template: String, to recipient: String? = nil) -> [OutboxTable.Message] {
        let all = (try? OutboxTable.list(status: nil, limit: 10_000, offset: 0, services.storage.reader).messages) ?? []
        return all.filter { $0.template == template && (recipient == nil || $0.recipient == recipient) }.reversed()
    }

    /// The email address of a member.
    func email(of member: Member) -> String { (try? UserTable.find(member.id, services.storage.reader))?.email ?? "" }

    /// Runs SQL against the hub's database on a connection of its own (to set up a state a
    /// crash would leave).
    func execute(_ sql: String, _ parameters: [SQLValue] = []) throws {
        let database = try Database(hub.config.store.location)
        _ = try database.execute(sql, parameters)
    }
}

/// A money field of a JSON view as its literal ("12000", "4999.5").
func money(_ value: JSON?) -> String? { value?.numberLiteral ?? value?.stringValue }
