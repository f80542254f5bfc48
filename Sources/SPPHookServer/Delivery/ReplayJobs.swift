// SPDX-License-Identifier: MIT
import SPPHookCore
import Synchronization

/// Runs `replay`'s delivery jobs: on the calling thread when the sink's concurrency is one,
/// else on that many ``DeliveryWorkers`` threads (as many at once as the sink runner allows).
final class ReplayJobs: Sendable {
    typealias Job = DeliveryWindow<LoggedEvent>.Job

    private let sink: any EventSink
    private let workers: DeliveryWorkers?
    private let done = Mutex<[(Job, [DeliveryOutcome])]>([])
    private let finishedOne = Signal()

    init(sink: any EventSink, concurrency: Int) {
        self.sink = sink
        workers = concurrency > 1 ? DeliveryWorkers(count: concurrency, name: "replay:" + sink.name) : nil
    }

    func start(_ job: Job) {
        guard let workers else {
            let outcomes = sink.deliver(job.events)
            done.withLock { $0.append((job, outcomes)) }
            return
        }
        workers.submit { [self] in
            let outcomes = sink.deliver(job.events)
            done.withLock { $0.append((job, outcomes)) }
            finishedOne.notify()
        }
    }

    /// The jobs finished since the last call; waits for one when none has (call it only
    /// with a job started and not yet returned).
    func finished() -> [(Job, [DeliveryOutcome])] {
        while true {
            let taken = done.withLock { d in
                defer { d = [] }
                return d
            }
            if !taken.isEmpty { return taken }
            finishedOne.wait(seconds: nil)
        }
    }

    /// Ends the threads once their jobs are done.
    func stop() {
        workers?.stop()
    }
}
