/// Runs operations on the same key one at a time, in arrival order, on the loop thread.
///
/// A booking's state is decided in memory and persisted later; two operations on one booking
/// (a cancel and a payment confirmation) must not both decide against the state before the
/// first one's commit. Each operation gets a `Turn` to end when its commit completed; the next
/// operation on that key starts then.
final class KeyedSerialQueue {
    private var waiting: [String: [(Turn) -> Void]] = [:]

    /// Keys with an operation in progress.
    var busyCount: Int { waiting.count }

    func run(_ key: String, _ operation: @escaping (_ turn: Turn) -> Void) {
        if waiting[key] != nil {
            waiting[key]!.append(operation)  // present: checked on the line above
            return
        }
        waiting[key] = []
        operation(Turn(key: key, queue: self))
    }

    fileprivate func next(_ key: String) {
        guard var queue = waiting[key] else { return }
        if queue.isEmpty {
            waiting[key] = nil
            return
        }
        let operation = queue.removeFirst()
        waiting[key] = queue
        operation(Turn(key: key, queue: self))
    }

    /// One operation's hold on its key. It ends exactly once: `end()` a second time is a
    /// programmer error (a crash), and a turn dropped without `end()` (a path that forgot it)
    /// ends when it is released, so it cannot wedge its key forever; debug builds stop there
    /// instead, so the forgotten path is found.
    final class Turn {
        let key: String
        private weak var queue: KeyedSerialQueue?
        private var ended = false

        fileprivate init(key: String, queue: KeyedSerialQueue) {
            self.key = key
            self.queue = queue
        }

        func end() {
            precondition(!ended, "the turn on \(key) was ended twice")
            ended = true
            queue?.next(key)
        }

        /// `turn()` reads as the `done()` it replaces.
        func callAsFunction() { end() }

        deinit {
            guard !ended else { return }
            assertionFailure("the turn on \(key) was dropped without end()")
            queue?.next(key)
        }
    }
}

@available(*, unavailable) extension KeyedSerialQueue: Sendable {}
@available(*, unavailable) extension KeyedSerialQueue.Turn: Sendable {}
