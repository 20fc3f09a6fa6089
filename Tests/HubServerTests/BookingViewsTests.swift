import HubCore
import HubWire
import Testing

@testable import HubServer

/// The booking view is written as JSON text: its exact text, members in the seed's order, local
/// times in the space's zone, escapes, nulls and the caller's extra members.
@Suite struct BookingViewsTests {
    /// 2026-06-01T22:00:00Z: 23:00 in Lagos.
    static let start: Int64 = 1_780_351_200

    @Test func aBookingAcrossMidnightReadsAsItsFields() throws {
        let booking = Booking(id: "b-1", userID: "u-1", kind: .event, spaceName: "Hall \"A\" </x>",
                              range: Interval(start: Self.start, end: Self.start + 5400), durationLabel: "1.5 hours")
        let text = String(decoding: BookingViews.bytes(of: booking), as: UTF8.self)
        #expect(text == #"{"id":"b-1","type":"event","spaceName":"Hall \"A\" \u003c/x>","date":"2026-06-01","time":"23:00","#
            + #""duration":"1.5 hours","status":"pending","amount":500.25,"paymentStatus":"pending","spaceId":"hall","#
            + #""userId":"u-1","endTime":"2026-06-02 00:30","startsAt":"2026-06-01T23:00:00+01:00","#
            + #""endsAt":"2026-06-02T00:30:00+01:00","timeZone":"Africa/Lagos","currency":"NGN","#
            + #""holdExpiresAt":"2026-06-01T21:15:00Z","specialRequests":null,"paymentReference":null,"refundDue":false,"#
            + #""cancelReason":null,"createdAt":"2026-06-01T21:00:00Z","updatedAt":"2026-06-01T21:00:00Z","version":1}"#)
        #expect(BookingViews.booking(booking) == .raw(Array(text.utf8)))
    }

    @Test func extraMembersFollowTheBookingsOwn() throws {
        var booking = Booking(id: "b-2", userID: "u-2", kind: .coworking, spaceName: "Desk",
                              range: Interval(start: Self.start - 7200, end: Self.start), durationLabel: "2 hours")
        booking.specialRequests = "window\nseat"
        booking.holdExpiresAt = nil
        let view = try JSONParser.parse(BookingViews.booking(booking) { out in
            out.key("member")
            out.value(["id": "u-2", "name": .null])
        }.bytes)
        #expect(view["endTime"] == "23:00")
        #expect(view["specialRequests"] == "window\nseat")
        #expect(view["holdExpiresAt"] == .null)
        #expect(view["member"] == ["id": "u-2", "name": .null])
        #expect(view.objectValue?.keys.last == "member")
        #expect(view.objectValue?.count == 25)
    }
}

extension Booking {
    fileprivate init(id: String, userID: String, kind: SpaceKind, spaceName: String, range: Interval, durationLabel: String) {
        self.init(id: id, userID: userID, kind: kind, spaceID: "hall", spaceName: spaceName, range: range, zone: .lagos,
                  durationLabel: durationLabel, amount: Money(minorUnits: 50_025), holdExpiresAt: BookingViewsTests.start - 2700,
                  createdAt: BookingViewsTests.start - 3600, updatedAt: BookingViewsTests.start - 3600)
    }
}
