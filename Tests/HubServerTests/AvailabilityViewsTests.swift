import HubCore
import HubTestSupport
import Testing

@testable import HubServer

/// Coworking occupancy (seats taken through a day) and the full ranges derived from it, against
/// counting minute by minute.
@Suite struct AvailabilityViewsTests {
    static let window = Interval(start: 0, end: 1440)

    @Test func occupancyOfAKnownDay() {
        // 09–12 and 10–11 and 11–14 (touching ends do not overlap), one ending outside the window.
        let intervals = [Interval(start: 540, end: 720), Interval(start: 600, end: 660), Interval(start: 660, end: 840),
                         Interval(start: 1400, end: 1500)]
        let steps = AvailabilityViews.occupancy(intervals, within: Self.window)
        // 600–660 and 660–720 both hold two: one step.
        #expect(steps.map { [$0.range.start, $0.range.end, Int64($0.taken)] }
            == [[540, 600, 1], [600, 720, 2], [720, 840, 1], [1400, 1440, 1]])
        #expect(AvailabilityViews.fullRanges(steps, seats: 2) == [Interval(start: 600, end: 720)])
        #expect(AvailabilityViews.fullRanges(steps, seats: 3).isEmpty)
        #expect(AvailabilityViews.occupancy([], within: Self.window).isEmpty)
    }

    @Test func occupancyAgreesWithCountingEveryMinute() {
        var generator = SeededRandom.fromEnvironment()
        let replay: Comment = "\(generator.replay)"
        for _ in 0..<300 {
            let intervals = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                let start = Int64.random(in: -120...1500, using: &generator)
                return Interval(start: start, end: start + Int64.random(in: 1...400, using: &generator))
            }
            let steps = AvailabilityViews.occupancy(intervals, within: Self.window)
            var counted = [Int](repeating: 0, count: 1440)
            for interval in intervals {
                let from = max(interval.start, 0), to = min(interval.end, 1440)
                if from < to { for minute in from..<to { counted[Int(minute)] += 1 } }
            }
            var drawn = [Int](repeating: 0, count: 1440)
            for (index, step) in steps.enumerated() {
                #expect(step.taken > 0 && step.range.start < step.range.end, replay)
                if index > 0 {  // in order, and neighbours that touch differ
                    let previous = steps[index - 1]
                    #expect(previous.range.end <= step.range.start, replay)
                    #expect(previous.range.end < step.range.start || previous.taken != step.taken, replay)
                }
                for minute in step.range.start..<step.range.end { drawn[Int(minute)] = step.taken }
            }
            #expect(drawn == counted, replay)
            let seats = Int.random(in: 1...4, using: &generator)
            var full = [Bool](repeating: false, count: 1440)
            for range in AvailabilityViews.fullRanges(steps, seats: seats) {
                for minute in range.start..<range.end { full[Int(minute)] = true }
            }
            #expect(full == counted.map { $0 >= seats }, replay)
        }
    }
}
