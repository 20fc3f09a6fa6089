import CLibUV

/// Runs blocking work on libuv's threadpool and its completion back on the loop thread
/// ("after_work_cb … called on the loop thread", docs/src/threadpool.rst). For password hashing,
/// reports and calls to other services: anything that would stall the loop for more than ~1 ms.
public enum WorkQueue {
    public static func submit<Result: Sendable>(
        on loop: Loop,
        work: @escaping @Sendable () -> Result,
        completion: @escaping (Result) -> Void
    ) {
        loop.assertOnLoopThread()
        let box = ResultBox<Result>()
        let request = WorkRequest(
            run: { box.value = work() },
            finish: { completion(box.value!) }  // `run` always stores a value before `finish`
        )
        request.submit(loop: loop)
    }
}

/// Written by the worker, read on the loop after libuv's own synchronisation between the two.
private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// A `uv_work_t` plus its two halves: `run` on a worker thread, `finish` on the loop thread.
private final class WorkRequest: @unchecked Sendable {
    let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
    let run: @Sendable () -> Void
    let finish: () -> Void  // loop thread only

    init(run: @escaping @Sendable () -> Void, finish: @escaping () -> Void) {
        self.run = run
        self.finish = finish
    }

    deinit { request.deallocate() }

    func submit(loop: Loop) {
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in the after-work callback
        let rc = uv_queue_work(loop.raw, request, { request in
            Unmanaged<WorkRequest>.fromOpaque(request!.pointee.data).takeUnretainedValue().run()
        }, { request, status in
            let owner = Unmanaged<WorkRequest>.fromOpaque(request!.pointee.data)
            // ECANCELED only comes from uv_cancel, which we never call.
            precondition(status == 0, "uv_queue_work completed with \(UVError(status))")
            owner.takeUnretainedValue().finish()
            owner.release()
        })
        precondition(rc == 0, "uv_queue_work: \(UVError(rc))")  // only EINVAL for a nil work_cb
    }
}
