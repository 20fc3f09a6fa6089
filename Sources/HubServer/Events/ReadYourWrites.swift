import HubHTTP
import HubLoop

/// Reading one's own writes on any hub of several sharing a database (docs/SCALING.md).
///
/// A write's answer carries `X-Event-Seq`: the highest `seq` this hub has committed, at or past
/// the write's own events. A later request that sends it back (`?minSeq=` or `X-Min-Seq`) is
/// answered once the hub it reaches has published that far, within `Broker.catchUpWaitMs`: a
/// hub behind it (the write was made on another) waits for its follower. Still behind after the
/// wait, it answers `503 not_caught_up`, never a read that misses the write.
///
/// The header is sent on either store; the wait is installed on PostgreSQL only (`shared`): a
/// SQLite file has one hub, which has published every write it answered.
enum ReadYourWrites {
    static func install(on router: Router, server: HTTPServer, broker: Broker, committer: Committer, loop: Loop, shared: Bool) {
        server.responseHeaders = { [unowned committer] request in
            Router.mutating.contains(request.method) ? [("x-event-seq", String(committer.highestSeq))] : []
        }
        guard shared else { return }
        router.hold = { [unowned broker] request, responder, run in
            guard let text = request.query["minSeq"] ?? request.header("x-min-seq") else { return false }
            guard let minSeq = Int64(text), minSeq >= 0 else {
                responder.fail(.invalid("minSeq", "bad_min_seq", "minSeq must be a seq this hub gave (a whole number)"))
                return true
            }
            guard minSeq > broker.lastSeq else { return false }
            broker.afterReaching(minSeq, timeoutMs: Broker.catchUpWaitMs, loop: loop) {
                guard minSeq <= broker.lastSeq else {
                    return responder.fail(APIError(503, "not_caught_up", "this hub has not caught up with seq \(minSeq) yet; retry",
                                                   headers: [("Retry-After", "1")]))
                }
                run()
            }
            return true
        }
    }
}
