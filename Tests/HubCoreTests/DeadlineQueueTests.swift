import HubTestSupport
import Testing

@testable import HubCore

/// The hold-expiry queue behind `BookingService.sweep`: what is due comes out earliest first, at
/// most `limit` per call, and nothing is dropped, duplicated or early.
@Suite struct DeadlineQueueTests {
    typealias Entry = (deadline: Int64, id: String)

    static func drain(_ queue: inout DeadlineQueue) -> [Entry] {
        queue.popDue(now: .max)
    }

    @Test func emptyQueueHasNothingDue() {
        var queue = DeadlineQueue()
        #expect(queue.isEmpty && queue.count == 0 && queue.nextDeadline == nil)
        #expect(queue.popDue(now: .max).isEmpty)
    }

    /// Every order of pushing six distinct deadlines pops them sorted.
    @Test func popsInDeadlineOrderWhateverThePushOrder() {
        let deadlines: [Int64] = [5, 1, 9, 3, 7, 2]
        forEachPermutation(of: deadlines) { order in
            var queue = DeadlineQueue()
            for deadline in order { queue.push(deadline, "h\(deadline)") }
            #expect(queue.nextDeadline == 1, "pushed \(order)")
            let popped = Self.drain(&queue)
            #expect(popped.map(\.deadline) == deadlines.sorted(), "pushed \(order)")
            #expect(popped.map(\.id) == deadlines.sorted().map { "h\($0)" }, "pushed \(order)")
            #expect(queue.isEmpty, "pushed \(order)")
        }
    }

    /// A queue made at once from entries in any order (the start-up's) pops them as pushes
    /// would, ties included, and takes pushes after.
    @Test func aQueueMadeAtOnceFromEntriesInAnyOrderPopsThemSorted() {
        let deadlines: [Int64] = [5, 1, 9, 3, 7, 2, 5]
        forEachPermutation(of: deadlines) { order in
            var queue = DeadlineQueue(order.enumerated().map { (deadline: $0.element, id: "h\($0.offset)") })
            #expect(queue.count == deadlines.count && queue.nextDeadline == 1, "made from \(order)")
            queue.push(4, "late")
            let popped = Self.drain(&queue)
            #expect(popped.map(\.deadline) == (deadlines + [4]).sorted(), "made from \(order)")
            #expect(Set(popped.map(\.id)).count == deadlines.count + 1, "made from \(order)")
        }
        var empty = DeadlineQueue([])
        #expect(empty.isEmpty && Self.drain(&empty).isEmpty)
    }

    /// Due means at or before `now`; what is not due stays, and `nextDeadline` names the earliest of it.
    @Test func onlyEntriesDueAtOrBeforeNowPop() {
        var queue = DeadlineQueue()
        for deadline: Int64 in [30, 10, 20, 40] { queue.push(deadline, "h\(deadline)") }
        #expect(queue.popDue(now: 9).isEmpty)
        #expect(queue.popDue(now: 10).map(\.id) == ["h10"])
        #expect(queue.popDue(now: 29).map(\.id) == ["h20"])
        #expect(queue.nextDeadline == 30 && queue.count == 2)
        #expect(queue.popDue(now: 40).map(\.id) == ["h30", "h40"])
        #expect(queue.isEmpty && queue.nextDeadline == nil)
    }

    /// Holds made in the same second share a deadline: all of them come out together, each once,
    /// before anything later and after anything earlier (their order among themselves is free).
    @Test func tiesComeOutTogetherEachOnce() {
        var queue = DeadlineQueue()
        let tied = (0..<50).map { "tie\($0)" }
        queue.push(200, "later")
        for id in tied.reversed() { queue.push(100, id) }
        queue.push(50, "earlier")
        let popped = queue.popDue(now: 150)
        #expect(popped.first?.id == "earlier")
        #expect(popped.dropFirst().allSatisfy { $0.deadline == 100 })
        #expect(popped.dropFirst().map(\.id).sorted() == tied.sorted())
        #expect(queue.count == 1 && queue.nextDeadline == 200)
    }

    /// A sweep expires at most `limit` holds; the rest wait, in order, for the next sweep.
    @Test func limitCapsOnePopAndTheRestFollowInOrder() {
        var queue = DeadlineQueue()
        for deadline in (1...10).reversed() { queue.push(Int64(deadline), "h\(deadline)") }
        #expect(queue.popDue(now: 100, limit: 0).isEmpty)
        #expect(queue.popDue(now: 100, limit: 3).map(\.deadline) == [1, 2, 3])
        #expect(queue.popDue(now: 100, limit: 3).map(\.deadline) == [4, 5, 6])
        // The limit does not make anything undue come out.
        #expect(queue.popDue(now: 8, limit: 5).map(\.deadline) == [7, 8])
        #expect(queue.popDue(now: 100, limit: 5).map(\.deadline) == [9, 10])
        #expect(queue.isEmpty)
    }

    /// Entries are never removed early (lazy deletion): a booking tracked again with a new
    /// deadline has two entries, and both come out, each at its own deadline. `sweep` ignores the
    /// one that no longer matches the booking.
    @Test func staleEntriesStillComeOutAtTheirOwnDeadline() {
        var queue = DeadlineQueue()
        queue.push(10, "a")
        queue.push(5, "b")
        queue.push(30, "a")  // "a" tracked again: its entry at 10 is stale now
        #expect(queue.count == 3)
        #expect(queue.popDue(now: 10).map { "\($0.id)@\($0.deadline)" } == ["b@5", "a@10"])
        #expect(queue.popDue(now: 29).isEmpty)
        #expect(queue.popDue(now: 30).map { "\($0.id)@\($0.deadline)" } == ["a@30"])
    }

    /// Random pushes and pops (with limits, ties and repeated ids) against a plain array; stops at
    /// the first difference.
    @Test func matchesASortedArrayModel() throws {
        var random = SeededRandom.fromEnvironment()
        let seed = random.seed
        var queue = DeadlineQueue()
        var model: [Entry] = []
        var now: Int64 = 0
        for step in 0..<20_000 {
            let context: Comment = "HUB_SEED=\(seed), step \(step)"
            if Int.random(in: 0..<100, using: &random) < 60 {
                // Deadlines near `now`, often equal, some already due; ids repeat.
                let deadline = now + Int64.random(in: -3...40, using: &random)
                let id = "h\(Int.random(in: 0..<64, using: &random))"
                queue.push(deadline, id)
                model.append((deadline, id))
            } else {
                now += Int64.random(in: 0...10, using: &random)
                let limit = Int.random(in: 0..<100, using: &random) < 30 ? Int.random(in: 0...4, using: &random) : .max
                let popped = queue.popDue(now: now, limit: limit)
                let due = model.filter { $0.deadline <= now }.map(\.deadline).sorted()
                try #require(popped.count == min(limit, due.count), context)
                try #require(popped.map(\.deadline) == Array(due.prefix(popped.count)), context)
                for entry in popped {
                    guard let index = model.firstIndex(where: { $0 == entry }) else {
                        Issue.record("popped \(entry), never pushed or popped twice; \(context)")
                        return
                    }
                    model.remove(at: index)
                }
            }
            try #require(queue.count == model.count, context)
            try #require(queue.nextDeadline == model.map(\.deadline).min(), context)
        }
    }
}
