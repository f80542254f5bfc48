// SPDX-License-Identifier: MIT
import CShims
import Glibc
import Synchronization

/// A running thread its owner waits for when it stops (``POSIXThread/spawn(name:_:)``).
/// One released without being joined is detached, so its resources go when it ends.
public final class JoinableThread: Sendable {
    private let thread: Mutex<pthread_t?>

    init(_ thread: pthread_t) { self.thread = Mutex(thread) }

    deinit {
        if let t = thread.withLock({ $0 }) { pthread_detach(t) }
    }

    /// Waits for the thread to end (at once when it was joined before). Never call it from
    /// the thread itself.
    public func join() {
        guard let t = thread.withLock({ t -> pthread_t? in
            defer { t = nil }
            return t
        }) else { return }
        pthread_join(t, nil)
    }

    /// Waits up to `seconds` for the thread to end; true once it ended and was joined, false
    /// when it still runs (it can be joined later). Never call it from the thread itself.
    public func join(within seconds: Double) -> Bool {
        guard let t = thread.withLock({ $0 }) else { return true }
        guard spp_join_thread(t, seconds) == 0 else { return false }
        thread.withLock { $0 = nil }
        return true
    }
}
