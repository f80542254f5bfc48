// SPDX-License-Identifier: MIT
import CShims
import Glibc
import Synchronization

/// POSIX threads, for work that blocks (waiting for a signal, a child process, a sink) and
/// must not occupy Dispatch's pool: a long-lived one its owner stops and joins
/// (``spawn(name:_:)``), a detached one, or a joined one for half of a piece of work.
public enum POSIXThread {
    private final class Box {
        package let body: @Sendable () -> Void
        package init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread named `name` (the first 15 bytes; `top -H` shows it, and
    /// tests find a thread of theirs by it).
    public static func detach(name: String, _ body: @escaping @Sendable () -> Void) {
        guard let thread = start(name: name, body) else { preconditionFailure("pthread_create failed") }
        pthread_detach(thread)
    }

    /// Starts `body` on a new thread named `name` that its owner joins once it told it to end.
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> JoinableThread {
        guard let thread = start(name: name, body) else { preconditionFailure("pthread_create failed") }
        return JoinableThread(thread)
    }

    private final class Outcome<A: Sendable>: Sendable {
        package let value = Mutex<A?>(nil)
    }

    /// Runs `a` on a new thread named `name` while `b` runs on this one, and returns both
    /// results once both are done: work split in two independent halves (one after the other
    /// when no thread can be started).
    public static func both<A: Sendable, B>(name: String, _ a: @escaping @Sendable () -> A, _ b: () -> B) -> (A, B) {
        let outcome = Outcome<A>()
        guard let thread = start(name: name, {
            let value = a()
            outcome.value.withLock { $0 = value }
        }) else { return (a(), b()) }
        let second = b()
        pthread_join(thread, nil)
        // pthread_join returned: the thread ran `a` to the end and stored its value.
        return (outcome.value.withLock { $0! }, second)
    }

    /// A new joinable thread named `name` running `body`; nil when none could be created.
    private static func start(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
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
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        return thread
    }
}
