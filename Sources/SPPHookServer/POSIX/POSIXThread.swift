// SPDX-License-Identifier: MIT
import CShims
import Glibc

/// A detached POSIX thread, for work that blocks (waiting for a signal, a child process,
/// a sink) and must not occupy Dispatch's pool.
public enum POSIXThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread named `name` (the first 15 bytes; `top -H` shows it, and
    /// tests find a thread of theirs by it).
    public static func detach(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box {
            spp_set_thread_name(name)
            body()
        }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            // `arg` is the box passed to pthread_create below, never nil.
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed")
        pthread_detach(thread)
    }
}
