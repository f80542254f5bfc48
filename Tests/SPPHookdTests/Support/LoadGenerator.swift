// SPDX-License-Identifier: MIT
import Foundation
import Synchronization

/// Keep-alive clients posting unique events (data.id = marker) until stopped, recording
/// every acknowledged one. A connection cut by a kill ends that client: its request in
/// flight was not acknowledged.
final class LoadGenerator: Sendable {
    struct Ack: Sendable {
        var seq: Int
        var marker: String
    }

    private let acks = Mutex<[Ack]>([])
    private let stopFlag = Atomic<Bool>(false)
    private let group = DispatchGroup()

    init(port: UInt16, clients: Int, event: @escaping @Sendable (Int) -> String = { _ in "order.created" }) {
        for c in 0..<clients {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                guard let client = try? RawHTTPClient(port: port, timeout: 5) else { return }
                var n = 0
                while !stopFlag.load(ordering: .relaxed) {
                    n += 1
                    let marker = "c\(c)-n\(n)"
                    client.send(RawHTTPClient.post("/spp/main", sppBody(event: event(n), id: marker, note: marker)))
                    guard let r = client.readResponse(), r.status == 200, let seq = r.json["seq"] as? Int else { return }
                    acks.withLock { $0.append(Ack(seq: seq, marker: marker)) }
                }
            }
        }
    }

    var count: Int { acks.withLock { $0.count } }

    /// Stops the clients, waits for them, and returns what was acknowledged.
    func stop() -> [Ack] {
        stopFlag.store(true, ordering: .relaxed)
        group.wait()
        return acks.withLock { $0 }
    }
}
