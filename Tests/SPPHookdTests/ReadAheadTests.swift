// SPDX-License-Identifier: MIT
import Glibc
import SPPHookPOSIX
@testable import SPPHookServer
import Synchronization
import Testing

/// `replay` reads the log a batch ahead of the sink (``ReadAhead``): every item arrives once
/// and in order, an error arrives after what was read before it, and a consumer that stops
/// early stops the reading thread.
@Suite("Reading ahead of the consumer")
struct ReadAheadTests {
    @Test(arguments: [1, 2, 8])
    func everyItemArrivesOnceInOrder(_ depth: Int) throws {
        let items = ReadAhead<Int>(depth: depth, name: "test-read-ahead") { emit in
            for i in 1...500 where !emit(i) { return }
        }
        var got: [Int] = []
        while let i = try items.next() { got.append(i) }
        #expect(got == Array(1...500))
        #expect(try items.next() == nil)
    }

    @Test func anErrorArrivesAfterTheItemsBeforeIt() {
        let items = ReadAhead<Int>(depth: 2, name: "test-read-ahead") { emit throws(IOError) in
            for i in 1...3 { _ = emit(i) }
            throw IOError(errno: EIO, function: "pread(log segment)")
        }
        var got: [Int] = []
        #expect(throws: IOError.self) {
            while let i = try items.next() { got.append(i) }
        }
        #expect(got == [1, 2, 3])
    }

    @Test func cancellingStopsTheProducer() throws {
        let emitted = Mutex(0)
        let ended = Signal()
        let items = ReadAhead<Int>(depth: 1, name: "test-read-ahead") { emit in
            defer { ended.notify() }
            for i in 1...1_000_000 {
                guard emit(i) else { return }
                emitted.withLock { $0 += 1 }
            }
        }
        #expect(try items.next() == 1)
        items.cancel()
        ended.wait(seconds: 30)
        // At most the item taken, one waiting in the queue and one being placed.
        #expect(emitted.withLock { $0 } <= 3)
    }
}

/// Restoring the dedup index splits its work in two halves (``POSIXThread/both``): one runs
/// on a thread of its own, at the same time as the other, and both results come back.
@Suite("Two halves at once")
struct BothHalvesTests {
    final class Meeting: Sendable {
        let arrived = Mutex(0)
        let signals = [Signal(), Signal()]

        /// True once the other half has arrived too (waiting at most 10 s for it).
        func meet(_ half: Int) -> Bool {
            arrived.withLock { $0 += 1 }
            signals[1 - half].notify()
            signals[half].wait(seconds: 10)
            return arrived.withLock { $0 } == 2
        }
    }

    @Test func theHalvesRunAtOnceOnTwoThreadsAndBothResultsReturn() {
        let meeting = Meeting()
        let caller = pthread_self()
        let (a, b) = POSIXThread.both(name: "test-both", {
            (pthread_equal(pthread_self(), caller) == 0, meeting.meet(0))
        }, {
            meeting.meet(1)
        })
        #expect(a.0, "the first half ran on a thread of its own")
        #expect(a.1 && b, "each half saw the other running")
    }
}
