// SPDX-License-Identifier: MIT
import Glibc
import Synchronization

/// A serial queue on one POSIX thread of its own: tasks run in the order they were queued,
/// delayed tasks once their time (monotonic clock) has come.
///
/// Why not a Dispatch queue: libdispatch renices its worker threads to imitate quality of
/// service classes, and a hardened service (no CAP_SYS_NICE, `setpriority` filtered) logs
/// "Failed to set thread priority for worker thread" for every one. The daemon needs a few
/// long-lived threads, not a pool, so it owns them.
///
/// The thread ends once the queue is released and every queued task has run, or at
/// ``finish()``, which runs what is queued, drops delayed tasks and joins the thread.
package final class WorkerThread: Sendable {
    private final class Shared: Sendable {
        package struct Timed {
            package var due: Int64
            package var task: @Sendable () -> Void
        }
        package struct Queue {
            package var tasks: [@Sendable () -> Void] = []
            package var timed: [Timed] = []
            package var released = false
            /// Set by ``finish()``: delayed tasks no longer run.
            package var finishing = false
        }
        package let queue = Mutex(Queue())
        package let wake = Signal()
    }

    private let shared = Shared()
    private let thread: JoinableThread

    package init(name: String) {
        let shared = self.shared
        thread = POSIXThread.spawn(name: name) { Self.run(shared) }
    }

    /// Runs the tasks queued so far, drops the delayed ones, and returns once the thread
    /// has ended; tasks queued later never run. Never call it from the thread itself.
    package func finish() {
        shared.queue.withLock { q in
            q.finishing = true
            q.timed = []
        }
        shared.wake.notify()
        thread.join()
    }

    deinit {
        shared.queue.withLock { $0.released = true }
        shared.wake.notify()
    }

    /// Runs `task` on the thread, after the tasks queued before it (never after ``finish()``).
    package func async(_ task: @escaping @Sendable () -> Void) {
        _ = enqueue(task)
    }

    /// False when the queue was finished (the task will not run).
    private func enqueue(_ task: @escaping @Sendable () -> Void) -> Bool {
        let queued = shared.queue.withLock { q in
            if q.finishing { return false }
            q.tasks.append(task)
            return true
        }
        if queued { shared.wake.notify() }
        return queued
    }

    /// Runs `task` on the thread once `seconds` have passed.
    package func async(after seconds: Double, _ task: @escaping @Sendable () -> Void) {
        let due = monotonicNanoseconds() + Int64(max(0, seconds) * 1e9)
        shared.queue.withLock { q in
            if !q.finishing { q.timed.append(.init(due: due, task: task)) }
        }
        shared.wake.notify()
    }

    /// Runs `task` on the thread and waits for it (never call it from the thread itself).
    /// After ``finish()`` the thread is gone and nothing else runs: it runs here.
    package func sync(_ task: @escaping @Sendable () -> Void) {
        let done = Signal()
        guard enqueue({
            task()
            done.notify()
        }) else { return task() }
        done.wait(seconds: nil)
    }

    private static func run(_ shared: Shared) {
        while true {
            let now = monotonicNanoseconds()
            let (batch, nextDue, finished) = shared.queue.withLock { q -> ([@Sendable () -> Void], Int64?, Bool) in
                var batch = q.tasks
                q.tasks.removeAll(keepingCapacity: true)
                var later: [Shared.Timed] = []
                for t in q.timed {
                    if t.due <= now { batch.append(t.task) } else { later.append(t) }
                }
                q.timed = later
                let finished = (q.released || q.finishing) && batch.isEmpty && later.isEmpty
                return (batch, later.map(\.due).min(), finished)
            }
            if finished { return }
            for task in batch { task() }
            if batch.isEmpty {
                shared.wake.wait(seconds: nextDue.map { Double($0 - now) / 1e9 })
            }
        }
    }
}
