// SPDX-License-Identifier: MIT
import Synchronization

/// Items produced on a thread of their own, at most `depth` ahead of the one consumer:
/// `replay` reads and parses the log here while the sink writes and syncs the batch before.
/// The producer's error reaches the consumer after the items made before it.
package final class ReadAhead<Item: Sendable>: Sendable {
    package typealias Produce = @Sendable (_ emit: (Item) -> Bool) throws(IOError) -> Void

    private struct State {
        package var items: [Item] = []
        package var finished = false
        package var failure: IOError?
        package var cancelled = false
    }

    private let state = Mutex(State())
    private let produced = Signal()
    private let consumed = Signal()
    private let depth: Int

    /// Starts `produce` on a thread named `name`; `emit` waits while `depth` items are
    /// unconsumed, and returns false once the consumer cancelled (produce should return).
    package init(depth: Int, name: String, _ produce: @escaping Produce) {
        self.depth = max(1, depth)
        POSIXThread.detach(name: name) { [self] in
            var failure: IOError?
            do throws(IOError) {
                try produce(emit)
            } catch {
                failure = error
            }
            state.withLock { ($0.finished, $0.failure) = (true, failure) }
            produced.notify()
        }
    }

    private func emit(_ item: Item) -> Bool {
        while true {
            let placed: Bool? = state.withLock { s in
                if s.cancelled { return nil }
                guard s.items.count < depth else { return false }
                s.items.append(item)
                return true
            }
            switch placed {
            case nil: return false
            case true?:
                produced.notify()
                return true
            case false?:
                consumed.wait(seconds: nil)
            }
        }
    }

    /// The next item, nil once the producer finished, or the producer's error.
    package func next() throws(IOError) -> Item? {
        while true {
            let taken: Result<Item?, IOError>? = state.withLock { s in
                if !s.items.isEmpty { return .success(s.items.removeFirst()) }
                guard s.finished else { return nil }
                if let failure = s.failure { return .failure(failure) }
                return .success(nil)
            }
            guard let taken else {
                produced.wait(seconds: nil)
                continue
            }
            consumed.notify()
            return try taken.get()
        }
    }

    /// Tells the producer to stop (its next `emit` returns false); pending items are dropped.
    package func cancel() {
        state.withLock { s in
            s.cancelled = true
            s.items = []
        }
        consumed.notify()
    }
}
