// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import Dispatch
import Synchronization

/// A sink's delivery threads: `count` long-lived POSIX threads taking jobs in order, so a
/// busy sink does not create a thread per batch. Jobs may block (a shell hook, a slow
/// receiver); at most `count` run at once. `stop()` lets queued jobs finish, then ends the
/// threads; `join()` waits for that.
final class DeliveryWorkers: Sendable {
    typealias Job = @Sendable () -> Void

    private struct Queue {
        var jobs: [Job] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Counts queued jobs plus one wake-up per thread at stop.
    private let ready = DispatchSemaphore(value: 0)
    private let count: Int
    private let threads = Mutex<[JoinableThread]>([])

    init(count: Int, name: String) {
        self.count = max(1, count)
        let started = (0..<self.count).map { _ in POSIXThread.spawn(name: name) { [self] in work() } }
        threads.withLock { $0 = started }
    }

    func submit(_ job: @escaping Job) {
        queue.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    func stop() {
        queue.withLock { $0.stopping = true }
        for _ in 0..<count { ready.signal() }
    }

    /// After ``stop()``: returns once every queued job ran and the threads ended.
    func join() {
        for thread in threads.withLock({ $0 }) { thread.join() }
    }

    private func work() {
        while true {
            ready.wait()
            let job: Job? = queue.withLock { q in
                guard q.head < q.jobs.count else { return nil }
                let job = q.jobs[q.head]
                q.head += 1
                if q.head == q.jobs.count { (q.jobs, q.head) = ([], 0) }
                return job
            }
            if let job {
                job()
            } else if queue.withLock({ $0.stopping }) {
                return
            }
        }
    }
}
