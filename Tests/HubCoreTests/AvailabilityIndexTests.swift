import HubTestSupport
import Testing

@testable import HubCore

/// Minutes after 2025-02-19T21:20:00Z, for readable fixtures.
private func minutes(_ range: Range<Int64>) -> Interval {
    AvailabilityIndexModel.interval(minutes: range)
}

private func conflict(_ id: String, _ range: Range<Int64>) -> AvailabilityIndex.Conflict {
    AvailabilityIndex.Conflict(reservationID: id, interval: minutes(range))
}

@Suite struct AvailabilityIndexTests {
    static func index(_ resources: [(String, AvailabilityIndex.ResourceKind)]) -> AvailabilityIndex {
        var index = AvailabilityIndex()
        for (id, kind) in resources { index.setResource(id, kind: kind) }
        return index
    }

    @Test func touchingBookingsDoNotConflict() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 0))])
        #expect(index.reserve("a", on: "hall", during: minutes(60..<120)) == .reserved(seatsLeft: nil))
        #expect(index.reserve("b", on: "hall", during: minutes(120..<180)) == .reserved(seatsLeft: nil))
        #expect(index.reserve("c", on: "hall", during: minutes(0..<60)) == .reserved(seatsLeft: nil))
        #expect(
            index.check(minutes(119..<121), on: "hall")
                == .conflict([conflict("a", 60..<120), conflict("b", 120..<180)]))
    }

    /// The buffer is measured on both sides and is inclusive of exactly `bufferSeconds`.
    @Test func bufferExactlyFillingTheGapFits() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 900))])
        #expect(index.reserve("a", on: "hall", during: minutes(60..<120)) == .reserved(seatsLeft: nil))
        #expect(index.check(minutes(135..<200), on: "hall") == .fits(seatsLeft: nil))
        #expect(index.check(minutes(0..<45), on: "hall") == .fits(seatsLeft: nil))
        let oneSecondShort = Interval(start: minutes(135..<200).start - 1, end: minutes(135..<200).end)
        #expect(index.check(oneSecondShort, on: "hall") == .conflict([conflict("a", 60..<120)]))
        let oneSecondLateEnd = Interval(start: minutes(0..<45).start, end: minutes(0..<45).end + 1)
        #expect(index.check(oneSecondLateEnd, on: "hall") == .conflict([conflict("a", 60..<120)]))
    }

    @Test func seatsBoundary() {
        var index = Self.index([("desk", .seated(seats: 3))])
        #expect(index.reserve("a", on: "desk", during: minutes(0..<60)) == .reserved(seatsLeft: 2))
        #expect(index.reserve("b", on: "desk", during: minutes(30..<90)) == .reserved(seatsLeft: 1))
        #expect(index.seatsLeft(on: "desk", during: minutes(40..<50)) == 1)
        // seats - 1 overlapping: the third fits and takes the last seat.
        #expect(index.reserve("c", on: "desk", during: minutes(45..<50)) == .reserved(seatsLeft: 0))
        // seats overlapping: the fourth does not fit anywhere they all overlap...
        #expect(
            index.check(minutes(49..<51), on: "desk")
                == .conflict([conflict("a", 0..<60), conflict("b", 30..<90), conflict("c", 45..<50)]))
        // ...but fits where only two overlap, including right where the third ends.
        #expect(index.check(minutes(50..<60), on: "desk") == .fits(seatsLeft: 0))
        #expect(index.seatsLeft(on: "desk", during: minutes(0..<90)) == 0)
        #expect(index.seatsLeft(on: "desk", during: minutes(60..<90)) == 2)
    }

    @Test func moveKeepsOldSlotOnConflict() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 600))])
        _ = index.reserve("a", on: "hall", during: minutes(0..<60))
        _ = index.reserve("b", on: "hall", during: minutes(120..<180))
        #expect(index.move("a", to: minutes(100..<130)) == .conflict([conflict("b", 120..<180)]))
        #expect(index.reservation("a")?.interval == minutes(0..<60))
        // Overlapping its own old slot is fine: a reservation never conflicts with itself.
        #expect(index.move("a", to: minutes(30..<110)) == .moved(seatsLeft: nil))
        #expect(index.reservation("a")?.interval == minutes(30..<110))
        #expect(index.check(minutes(0..<20), on: "hall") == .fits(seatsLeft: nil))
        #expect(index.move("ghost", to: minutes(0..<10)) == .unknownReservation)
        index.checkInvariants()
    }

    @Test func releaseOfUnknownIDChangesNothing() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 0))])
        _ = index.reserve("a", on: "hall", during: minutes(0..<60))
        #expect(index.release("ghost") == nil)
        #expect(index.count == 1)
        #expect(index.confirm("ghost") == false)
    }

    @Test func tentativeThenRelease() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 0))])
        #expect(index.reserve("a", on: "hall", during: minutes(0..<60)) == .reserved(seatsLeft: nil))
        let held = AvailabilityIndex.Reservation(
            id: "a", resourceID: "hall", interval: minutes(0..<60), isTentative: true)
        #expect(index.reservation("a") == held)
        // A hold blocks the slot just like a confirmed booking.
        #expect(index.reserve("b", on: "hall", during: minutes(30..<90)) == .conflict([conflict("a", 0..<60)]))
        #expect(index.release("a") == held)
        #expect(index.reservation("a") == nil)
        #expect(index.count == 0)
        #expect(index.reserve("b", on: "hall", during: minutes(30..<90)) == .reserved(seatsLeft: nil))
    }

    @Test func confirmClearsTentativeOnly() {
        var index = Self.index([("desk", .seated(seats: 2))])
        _ = index.reserve("a", on: "desk", during: minutes(0..<60))
        #expect(index.confirm("a") == true)
        #expect(index.confirm("a") == true, "confirming twice is harmless")
        #expect(index.reservation("a")?.isTentative == false)
        #expect(index.reservation("a")?.interval == minutes(0..<60))
        _ = index.reserve("b", on: "desk", during: minutes(0..<60), tentative: false)
        #expect(index.reservation("b")?.isTentative == false)
    }

    @Test func duplicateAndUnknownAreRefusedWithoutChange() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 0)), ("desk", .seated(seats: 4))])
        _ = index.reserve("a", on: "hall", during: minutes(0..<60))
        #expect(index.reserve("a", on: "desk", during: minutes(0..<60)) == .duplicateReservation)
        #expect(index.reserve("b", on: "attic", during: minutes(0..<60)) == .unknownResource)
        #expect(index.check(minutes(0..<60), on: "attic") == .unknownResource)
        #expect(index.seatsLeft(on: "attic", during: minutes(0..<60)) == nil)
        #expect(index.seatsLeft(on: "hall", during: minutes(0..<60)) == nil)
        #expect(index.reservations(on: "attic", overlapping: minutes(0..<60)).isEmpty)
        #expect(index.busyRanges(on: "attic", within: minutes(0..<60)).isEmpty)
        #expect(index.freeSlots(on: "attic", openWindows: [minutes(0..<60)], minimumSeconds: 0).isEmpty)
        #expect(index.count == 1)
    }

    /// `ignoring` leaves out one reservation; an id on another resource, or no id, ignores nothing.
    @Test func checkIgnoringOnlyLeavesOutThatReservation() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 0)), ("room", .exclusive(bufferSeconds: 0))])
        _ = index.reserve("a", on: "hall", during: minutes(0..<60))
        _ = index.reserve("z", on: "room", during: minutes(0..<60))
        #expect(index.check(minutes(10..<20), on: "hall", ignoring: "a") == .fits(seatsLeft: nil))
        #expect(index.check(minutes(10..<20), on: "hall", ignoring: "z") == .conflict([conflict("a", 0..<60)]))
        #expect(index.check(minutes(10..<20), on: "hall", ignoring: "ghost") == .conflict([conflict("a", 0..<60)]))
    }

    /// Changing a kind keeps every reservation; only new requests see the stricter rule.
    @Test func setResourceKeepsReservations() {
        var index = Self.index([("desk", .seated(seats: 3))])
        _ = index.reserve("a", on: "desk", during: minutes(0..<60))
        _ = index.reserve("b", on: "desk", during: minutes(0..<60))
        index.setResource("desk", kind: .seated(seats: 1))
        #expect(index.count == 2)
        #expect(index.seatsLeft(on: "desk", during: minutes(0..<60)) == 0)
        #expect(index.check(minutes(59..<70), on: "desk") == .conflict([conflict("a", 0..<60), conflict("b", 0..<60)]))
        index.setResource("desk", kind: .exclusive(bufferSeconds: 600))
        #expect(index.kind(of: "desk") == .exclusive(bufferSeconds: 600))
        #expect(index.check(minutes(65..<70), on: "desk") == .conflict([conflict("a", 0..<60), conflict("b", 0..<60)]))
        #expect(index.check(minutes(70..<80), on: "desk") == .fits(seatsLeft: nil))
        index.checkInvariants()
    }

    @Test func planWithoutSeatsIsAlwaysFull() {
        var index = Self.index([("closed", .seated(seats: 0))])
        #expect(index.reserve("a", on: "closed", during: minutes(0..<60)) == .conflict([]))
        #expect(index.busyRanges(on: "closed", within: minutes(0..<60)) == [minutes(0..<60)])
        #expect(index.freeSlots(on: "closed", openWindows: [minutes(0..<60)], minimumSeconds: 0).isEmpty)
        #expect(index.seatsLeft(on: "closed", during: minutes(0..<60)) == 0)
    }

    @Test func busyRangesJoinTouchingBookingsWithoutBuffers() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 900))])
        _ = index.reserve("a", on: "hall", during: minutes(60..<120))
        _ = index.reserve("b", on: "hall", during: minutes(135..<180))
        _ = index.reserve("c", on: "hall", during: minutes(195..<300))
        index.setResource("hall", kind: .exclusive(bufferSeconds: 0))
        _ = index.reserve("d", on: "hall", during: minutes(180..<195))
        #expect(index.busyRanges(on: "hall", within: minutes(90..<200)) == [minutes(90..<120), minutes(135..<200)])
    }

    /// Opening 08:00-12:00 and 12:00-17:00 (one opening), a booking 10:00-11:00 with a 30-minute
    /// buffer: free 08:00-09:30 and 11:30-17:00. After a second booking 13:00-14:00, a 2-hour
    /// minimum keeps only 14:30-17:00 and a 1-hour minimum keeps all three pieces.
    @Test func freeSlotsSubtractBufferedBookingsFromOpeningHours() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: 1_800))])
        let hour: Int64 = 60
        let opening = [minutes((12 * hour)..<(17 * hour)), minutes((8 * hour)..<(12 * hour))]
        _ = index.reserve("a", on: "hall", during: minutes((10 * hour)..<(11 * hour)))
        #expect(
            index.freeSlots(on: "hall", openWindows: opening, minimumSeconds: 0)
                == [minutes((8 * hour)..<(9 * hour + 30)), minutes((11 * hour + 30)..<(17 * hour))])
        _ = index.reserve("b", on: "hall", during: minutes((13 * hour)..<(14 * hour)))
        #expect(
            index.freeSlots(on: "hall", openWindows: opening, minimumSeconds: 2 * 3_600)
                == [minutes((14 * hour + 30)..<(17 * hour))])
        #expect(
            index.freeSlots(on: "hall", openWindows: opening, minimumSeconds: 3_600)
                == [
                    minutes((8 * hour)..<(9 * hour + 30)), minutes((11 * hour + 30)..<(12 * hour + 30)),
                    minutes((14 * hour + 30)..<(17 * hour)),
                ])
    }

    /// Buffers near the ends of Int64 saturate instead of wrapping into a small interval.
    @Test func hugeBufferSaturates() {
        var index = Self.index([("hall", .exclusive(bufferSeconds: .max))])
        _ = index.reserve("a", on: "hall", during: Interval(start: 0, end: 10))
        #expect(
            index.check(Interval(start: .max - 10, end: .max), on: "hall")
                == .conflict([.init(reservationID: "a", interval: Interval(start: 0, end: 10))]))
        // [min, min + 1) ends exactly one buffer before "a" starts, and so it really is free.
        #expect(
            index.freeSlots(on: "hall", openWindows: [Interval(start: .min, end: .max)], minimumSeconds: 0)
                == [Interval(start: .min, end: .min + 1)])
    }

    /// Property: any interval inside a free slot passes `check`, and shrinking any slot boundary by
    /// one second inward keeps it passing while growing it outward (inside the windows) fails.
    @Test func freeSlotsAreExactlyWhereCheckPasses() throws {
        let random = SeededRandom.fromEnvironment("AvailabilityIndexTests.freeSlotsAreExactlyWhereCheckPasses")
        let seed = random.seed
        var fuzzer = IndexFuzzer(random: random)
        for scenario in IndexScenario.allCases {
            var index = AvailabilityIndex()
            var model = AvailabilityIndexModel()
            for (id, kind) in scenario.resources {
                index.setResource(id, kind: kind)
                model.kinds[id] = kind
            }
            for step in 0..<400 {
                let resource = fuzzer.resource(scenario, unknownPercent: 0)
                if case .reserved = index.reserve("r\(step)", on: resource, during: fuzzer.interval(near: model)) {
                    model.reservations["r\(step)"] = index.reservation("r\(step)")
                }
            }
            for _ in 0..<200 {
                let resource = fuzzer.resource(scenario, unknownPercent: 0)
                let window = AvailabilityIndexModel.interval(minutes: fuzzer.window())
                for slot in index.freeSlots(on: resource, openWindows: [window], minimumSeconds: 0) {
                    guard case .fits = index.check(slot, on: resource) else {
                        Issue.record("free slot \(slot) on \(resource) does not fit; HUB_SEED=\(seed)")
                        return
                    }
                    if slot.start > window.start {
                        let grown = Interval(start: slot.start - 1, end: slot.end)
                        guard case .conflict = index.check(grown, on: resource) else {
                            Issue.record("\(grown) on \(resource) fits beyond its free slot; HUB_SEED=\(seed)")
                            return
                        }
                    }
                    if slot.end < window.end {
                        let grown = Interval(start: slot.start, end: slot.end + 1)
                        guard case .conflict = index.check(grown, on: resource) else {
                            Issue.record("\(grown) on \(resource) fits beyond its free slot; HUB_SEED=\(seed)")
                            return
                        }
                    }
                }
            }
        }
    }
}
