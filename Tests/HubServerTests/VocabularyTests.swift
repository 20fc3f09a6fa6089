import Foundation
import Testing

@testable import HubServer

/// The hub's real-time vocabulary is spelled once: channel names parse back to what built them,
/// and the JavaScript client knows every event type the hub publishes.
@Suite struct VocabularyTests {
    @Test(arguments: [Channel.availability, .space("event-hall"), .bookings(userID: "u-1"), .payments(userID: "u:2"), .admin])
    func channelNamesRoundTrip(channel: Channel) {
        #expect(Channel(name: channel.name) == channel)
    }

    @Test(arguments: ["", "availability:", "bookings", "bookings:", "users:1", "Availability", "admin:x"])
    func namesThatAreNoChannel(name: String) {
        #expect(Channel(name: name) == nil)
    }

    @Test func whoMayReadWhat() {
        let member = Principal(id: "m1", role: .member, tokenID: "s.t", expiresAt: 0)
        let staff = Principal(id: "a1", role: .admin, tokenID: "s.t", expiresAt: 0)
        let exists: (String) -> Bool = { $0 == "hall" }
        #expect(Channel.access("availability", principal: nil, spaceExists: exists) == .allowed)
        #expect(Channel.access("availability:hall", principal: nil, spaceExists: exists) == .allowed)
        #expect(Channel.access("availability:nowhere", principal: nil, spaceExists: exists) == .unknown)
        #expect(Channel.access("bookings:m1", principal: member, spaceExists: exists) == .allowed)
        #expect(Channel.access("bookings:m2", principal: member, spaceExists: exists) == .forbidden)
        #expect(Channel.access("payments:m1", principal: nil, spaceExists: exists) == .forbidden)
        #expect(Channel.access("payments:m2", principal: staff, spaceExists: exists) == .allowed)
        #expect(Channel.access("admin", principal: member, spaceExists: exists) == .forbidden)
        #expect(Channel.access("admin", principal: staff, spaceExists: exists) == .allowed)
        #expect(Channel.defaults(for: member) == [.availability, .bookings(userID: "m1"), .payments(userID: "m1")])
        #expect(Channel.defaults(for: staff) == [.availability, .admin])
        #expect(Channel.defaults(for: nil) == [.availability])
    }

    /// The client listens for each type by name on its SSE fallback (an `EventSource` delivers
    /// only the types it listens for): a type missing there is an event SSE clients never see.
    @Test func theJavaScriptClientKnowsEveryEventType() throws {
        let source = EmbeddedFiles.clientCoreJS
        let start = try #require(source.range(of: "const KNOWN_TYPES = ["))
        let end = try #require(source.range(of: "];", range: start.upperBound..<source.endIndex))
        let listed = source[start.upperBound..<end.lowerBound]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: ["'"]) }
        let known = Set(listed).subtracting(["resync_required"])  // a protocol message, not an event
        #expect(known == Set(EventType.allCases.map(\.rawValue)))
    }
}

/// Numbers the dashboard's script shares with the hub.
@Suite struct DashboardConstantsTests {
    @Test func theDashboardKnowsHowManyDayViewsAChangePublishes() throws {
        let line = try #require(EmbeddedFiles.dashboardJS.split(separator: "\n").first { $0.contains("const CHANGED_DAYS_MAX =") })
        let value = line.split(separator: "=").last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " ;")) }
        #expect(value == String(BookingService.changedDaysMax))
    }
}
