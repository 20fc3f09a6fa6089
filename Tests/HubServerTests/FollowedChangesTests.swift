import HubCore
import HubStore
import Testing

@testable import HubServer

/// What a hub does with what other hubs changed when the event log cannot tell it: here a stretch
/// pruned before this hub read it (`EventFollower.Batch.skippedTo`), applied in process.
@Suite struct FollowedChangesTests {
    /// The tables are read instead: a booking another hub cancelled in the stretch frees its slot
    /// here, and a setting another hub saved applies; the broker starts over after the stretch.
    @Test func aHubThePrunedLogSkippedReadsTheBookingsAndSettingsAgain() throws {
        let (hub, _, room, _, booking) = try TestHub.withHold()
        let other = try Database(hub.hub.config.store.location)  // writing as another hub would
        try other.execute("UPDATE bookings SET status = 'cancelled', hold_expires_at = NULL, version = version + 1 WHERE id = ?",
                          [.text(booking)])
        try SettingsTable.set("currency", value: #""GHS""#, description: nil, by: nil, at: hub.clock.seconds, other)
        #expect(hub.bookings.index.reservation(booking) != nil)
        let skipped = hub.services.broker.lastSeq + 50
        hub.services.followed.apply(.batch(EventFollower.Batch(events: [], bookings: [], spaces: nil, skippedTo: skipped)))
        #expect(hub.run(until: { hub.bookings.index.reservation(booking) == nil }, "the cancelled booking's release"))
        #expect(hub.services.broker.lastSeq == skipped)
        #expect(hub.bookings.live[booking] == nil)
        #expect(hub.hub.settings.currency == .ghs)
        #expect(hub.hold(hub.member(), room: room, date: hub.date(inDays: 3)).status == 201)
    }
}
