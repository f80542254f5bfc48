// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import CShims
import Glibc
import Synchronization

/// One thread running epoll (level-triggered) for the connections it owns, plus tasks
/// handed to it from other threads through an eventfd.
///
/// Why not Dispatch sources: each readable event hops from Dispatch's manager thread to a
/// worker thread, and each source suspend/resume wakes the manager again. Here a request is
/// read, parsed, handled and answered on one thread: the event log writes the requests of a
/// round at its end, on the loop (``afterRound(_:)``), and a batch written elsewhere reaches
/// a loop with a single wake-up.
///
/// `@unchecked Sendable`: `handlers` and `interest` are touched only on the loop's thread;
/// everything else is a `Mutex`, an atomic or immutable.
final class EventLoop: RoundScheduler, @unchecked Sendable {
    typealias Handler = (_ events: UInt32) -> Void

    private let epfd: Int32
    private let wakeFD: Int32
    private let tasks = Mutex<[@Sendable () -> Void]>([])
    private let wakePending = Atomic(false)
    private var handlers: [Int32: Handler] = [:]
    private let threadID = Atomic<UInt>(0)
    /// Loop thread only: work for the end of this round (after every ready event was
    /// handled), and tasks the loop queued for itself.
    private var roundEnd: [() -> Void] = []
    private var ownTasks: [() -> Void] = []
    /// Loop thread only: cleared by the task ``stop()`` queues; the loop ends after that round.
    private var running = true
    private var thread: JoinableThread?

    /// Which loop runs on each thread (none on threads that are not loops).
    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// The loop whose thread this is, or nil.
    static var current: EventLoop? {
        pthread_getspecific(currentKey).map { Unmanaged<EventLoop>.fromOpaque($0).takeUnretainedValue() }
    }

    init() {
        epfd = spp_epoll_create()
        wakeFD = spp_eventfd()
        precondition(epfd >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: \(String(cString: strerror(errno)))")
        let watched = spp_epoll_ctl(epfd, Int32(SPP_EPOLL_CTL_ADD), wakeFD, UInt32(SPP_EPOLLIN))
        precondition(watched == 0, "epoll_ctl on a fresh eventfd failed: \(String(cString: strerror(errno)))")
        thread = POSIXThread.spawn(name: "intake") { [self] in run() }
    }

    /// Ends the loop once the tasks queued before it have run, and waits for its thread.
    /// Tasks queued after it never run. Never call it on the loop itself.
    ///
    /// Its descriptors stay open until the loop is released: a late `execute` (a log
    /// completion for a connection closed at the timeout) must write to this eventfd, never
    /// to whatever file got its number after a close.
    func stop() {
        precondition(!inLoop, "an event loop cannot stop itself")
        guard let thread else { return }
        execute { [self] in running = false }
        thread.join()
        self.thread = nil
    }

    deinit {
        close(epfd)
        close(wakeFD)
    }

    /// Runs `task` on the loop's thread, soon (in order with other tasks from the same thread).
    func execute(_ task: @escaping @Sendable () -> Void) {
        if inLoop { return ownTasks.append(task) }  // no wake-up needed: it runs before the next wait
        tasks.withLock { $0.append(task) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Runs `task` on the loop's thread and waits for it.
    func executeAndWait(_ task: @escaping @Sendable () -> Void) {
        if inLoop { return task() }
        let done = Signal()
        execute {
            task()
            done.notify()
        }
        done.wait(seconds: nil)
    }

    var inLoop: Bool { threadID.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// Loop thread only: runs `work` once the events of this round are handled, before the
    /// loop waits again (the event log writes a round's requests in one batch this way).
    func afterRound(_ work: @escaping () -> Void) {
        roundEnd.append(work)
    }

    /// Loop thread only: watch `fd` for `events` (SPP_EPOLLIN/OUT). On failure (the
    /// kernel's `max_user_watches`, memory) returns the errno and watches nothing: the caller
    /// closes the fd rather than keep a socket nobody serves.
    func register(_ fd: Int32, events: UInt32, _ handler: @escaping Handler) -> Int32? {
        guard spp_epoll_ctl(epfd, Int32(SPP_EPOLL_CTL_ADD), fd, events) == 0 else { return errno }
        handlers[fd] = handler
        return nil
    }

    /// Loop thread only. Returns the errno when the kernel refused (the fd is no longer
    /// watched as asked: the caller closes it).
    func modify(_ fd: Int32, events: UInt32) -> Int32? {
        spp_epoll_ctl(epfd, Int32(SPP_EPOLL_CTL_MOD), fd, events) == 0 ? nil : errno
    }

    /// Loop thread only: stop watching (before the fd is closed).
    func unregister(_ fd: Int32) {
        handlers[fd] = nil
        _ = spp_epoll_ctl(epfd, Int32(SPP_EPOLL_CTL_DEL), fd, 0)
    }

    private func run() {
        threadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(self).toOpaque())
        var fds = [Int32](repeating: 0, count: 128)
        var events = [UInt32](repeating: 0, count: 128)
        defer { handlers = [:] }
        while running {
            let n = fds.withUnsafeMutableBufferPointer { f in
                events.withUnsafeMutableBufferPointer { e in spp_epoll_wait(epfd, f.baseAddress, e.baseAddress, 128, -1) }
            }
            if n < 0 {
                if errno == EINTR { continue }
                preconditionFailure("epoll_wait: \(String(cString: strerror(errno)))")
            }
            for i in 0..<Int(n) {
                if fds[i] == wakeFD {
                    runTasks()
                } else if let handler = handlers[fds[i]] {
                    handler(events[i])
                }
            }
            finishRound()
        }
    }

    /// Runs the round's deferred work and the tasks the loop queued for itself, until none
    /// is left (either may queue more of the other).
    private func finishRound() {
        while !roundEnd.isEmpty || !ownTasks.isEmpty {
            let work = roundEnd
            roundEnd.removeAll(keepingCapacity: true)
            for w in work { w() }
            let own = ownTasks
            ownTasks.removeAll(keepingCapacity: true)
            for task in own { task() }
        }
    }

    private func runTasks() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        wakePending.store(false, ordering: .releasing)
        let batch = tasks.withLock { t -> [@Sendable () -> Void] in
            defer { t.removeAll(keepingCapacity: true) }
            return t
        }
        for task in batch { task() }
    }
}
