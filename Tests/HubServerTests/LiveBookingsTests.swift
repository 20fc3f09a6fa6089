import HubCore
import Testing

@testable import HubServer

/// `LiveBookings`: the dense store of the bookings that hold time, its id table and its
/// per-member sets, through additions, replacements and removals that move the last booking.
@Suite struct LiveBookingsTests {
    private func booking(_ id: String, user: String, start: Int64 = 0, status: BookingStatus = .confirmed) -> Booking {
        Booking(id: id, userID: user, kind: .event, spaceID: "room", spaceName: "Room",
                range: Interval(start: start, end: start + 3600), zone: .lagos, durationLabel: "1 hour",
                amount: Money(minorUnits: 100, currency: .ngn), status: status, createdAt: 0, updatedAt: 0)
    }

    private func ids(_ bookings: [Booking]) -> [String] { bookings.map(\.id).sorted() }

    /// Every id finds its own booking, every member's set is exactly that member's bookings,
    /// and the storage is dense.
    private func expectConsistent(_ live: LiveBookings, _ expected: [String: Booking]) {
        #expect(live.count == expected.count)
        #expect(Set(live.ids) == Set(expected.keys))
        for (id, booking) in expected { #expect(live[id] == booking) }
        for user in Set(expected.values.map(\.userID)) + ["nobody"] {
            #expect(ids(live.bookings(of: user)) == expected.values.filter { $0.userID == user }.map(\.id).sorted())
        }
        #expect(ids(live.bookings) == expected.keys.sorted())
        for status in BookingStatus.allCases {
            #expect(live.counts.byStatus[status] == expected.values.filter { $0.status == status }.count, "\(status)")
        }
        for user in Set(expected.values.map(\.userID)) + ["nobody"] {
            #expect(live.counts.holds(of: user) == expected.values.filter { $0.userID == user && $0.status == .pending }.count, "\(user)")
        }
    }

    @Test func removalsMoveTheLastBookingAndKeepEveryTableRight() {
        var live = LiveBookings()
        var expected: [String: Booking] = [:]
        for n in 0..<8 {
            let added = booking("b\(n)", user: n % 3 == 0 ? "ada" : "bola", start: Int64(n) * 3600,
                                status: n % 2 == 0 ? .pending : .confirmed)
            live[added.id] = added
            expected[added.id] = added
        }
        expectConsistent(live, expected)
        // From the middle (the last moves into its place), the last itself, the first.
        for id in ["b3", "b7", "b0", "b5"] {
            live[id] = nil
            expected[id] = nil
            expectConsistent(live, expected)
        }
        live["missing"] = nil
        expectConsistent(live, expected)
        // Every one of a member's bookings gone: the member has none.
        for id in expected.keys where expected[id]?.userID == "ada" {
            live[id] = nil
            expected[id] = nil
        }
        expectConsistent(live, expected)
        #expect(live.bookings(of: "ada").isEmpty)
    }

    @Test func aReplacementKeepsItsPlaceAndFollowsAChangeOfMember() {
        var live = LiveBookings()
        var expected: [String: Booking] = [:]
        for n in 0..<3 {
            let added = booking("b\(n)", user: "ada")
            live[added.id] = added
            expected[added.id] = added
        }
        var changed = booking("b1", user: "ada", status: .completed)
        live[changed.id] = changed
        expected[changed.id] = changed
        expectConsistent(live, expected)
        changed.userID = "bola"
        live[changed.id] = changed
        expected[changed.id] = changed
        expectConsistent(live, expected)
        live.setPaymentReference("ref-1", of: "b1")
        live.setPaymentReference("ref-x", of: "missing")
        #expect(live["b1"]?.paymentReference == "ref-1")
        #expect(live.count == 3)
    }

    /// The start-up's tables, made in bulk from the read's array, are the ones one-by-one
    /// additions make, and the store goes on from them.
    @Test func adoptingTheStartUpReadMatchesAddingOneByOne() {
        let read = (0..<50).map {
            booking("b\($0)", user: "member-\($0 % 7)", start: Int64($0) * 60, status: $0 % 3 == 0 ? .pending : .confirmed)
        }
        var live = LiveBookings(adopting: read, tables: LiveBookings.Tables(of: read))
        var expected = Dictionary(uniqueKeysWithValues: read.map { ($0.id, $0) })
        expectConsistent(live, expected)
        for n in stride(from: 0, to: 50, by: 3) {
            live["b\(n)"] = nil
            expected["b\(n)"] = nil
        }
        let added = booking("new", user: "member-3")
        live[added.id] = added
        expected[added.id] = added
        expectConsistent(live, expected)
    }

    @Test func statusCountsIndexEveryCaseByItsPlace() {
        #expect(BookingStatus.allCases.map(\.ordinal) == Array(BookingStatus.allCases.indices))
        var counts = StatusCounts()
        counts[.confirmed] += 2
        counts[.pending] += 1
        counts[.confirmed] -= 1
        #expect(BookingStatus.allCases.map { counts[$0] } == [1, 1, 0, 0, 0])
    }
}
