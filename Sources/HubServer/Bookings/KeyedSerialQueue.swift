/// Runs operations on the same key one at a time, in arrival order, on the loop thread.
///
/// A booking's state is decided in memory and persisted later; two operations on one booking
/// (a cancel and a payment confirmation) must not both decide against the state before the
/// first one's commit. Each operation gets a `done` closure to call when its commit completed;
/// the next operation on that key starts then.
final class KeyedSerialQueue {
    private var waiting: [String: [(@escaping () -> Void) -> Void]] = [:]

    /// Keys with an operation in progress.
    var busyCount: Int { waiting.count }

    func run(_ key: String, _ operation: @escaping (_ done: @escaping () -> Void) -> Void) {
        if waiting[key] != nil {
            waiting[key]!.append(operation)  // present: checked on the line above
            return
        }
        waiting[key] = []
        start(key, operation)
    }

    private func start(_ key: String, _ operation: @escaping (@escaping () -> Void) -> Void) {
        var finished = false
        operation { [self] in
            precondition(!finished, "done() called twice for \(key)")
            finished = true
            self.next(key)
        }
    }

    private func next(_ key: String) {
        guard var queue = waiting[key] else { return }
        if queue.isEmpty {
            waiting[key] = nil
            return
        }
        let operation = queue.removeFirst()
        waiting[key] = queue
        start(key, operation)
    }
}

@available(*, unavailable) extension KeyedSerialQueue: Sendable {}
