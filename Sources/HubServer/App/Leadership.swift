/// Which hub runs the work that must happen once however many hubs share a database: email
/// delivery, reminders, refunds owed, calendar reconciliation, and what a committed booking
/// change sets off (`BookingObserver`: a refund, a reminder, a calendar write).
///
/// One hub alone, or on SQLite, always leads. Hubs sharing a PostgreSQL database bid through
/// their event followers for a session-level advisory lock (`AdvisoryLock.leader`); the one
/// holding it leads, until its session ends (killed, cut off, stopped), when another wins it
/// within a second. The leader learns of every change through the event log, its own at once and
/// the others' as the follower brings them, so what a change sets off runs on the leader whoever
/// made the change. Loop thread only.
final class Leadership {
    private(set) var isLeader: Bool
    /// When this hub took over from another (loop milliseconds); nil when it led from its start.
    private(set) var tookOverAtMs: UInt64?
    /// Run when this hub becomes the leader: each service looks for the work owed at once
    /// (what the previous leader left unfinished).
    private var onGain: [() -> Void] = []

    init(isLeader: Bool) {
        self.isLeader = isLeader
    }

    func whenGained(_ body: @escaping () -> Void) {
        onGain.append(body)
    }

    /// Whether this hub leads, and has for at least `graceMs` if it took over from another: what
    /// the last leader had under way (a mail being sent) is finished and recorded by then.
    func leads(settledForMs graceMs: UInt64, nowMs: UInt64) -> Bool {
        guard isLeader else { return false }
        guard let since = tookOverAtMs else { return true }
        return nowMs >= since + graceMs
    }

    func set(_ leading: Bool, nowMs: UInt64) {
        guard leading != isLeader else { return }
        isLeader = leading
        if leading { tookOverAtMs = nowMs }
        if leading { for body in onGain { body() } }
    }
}

@available(*, unavailable) extension Leadership: Sendable {}
