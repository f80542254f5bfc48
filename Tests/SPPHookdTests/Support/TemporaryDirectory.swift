// SPDX-License-Identifier: MIT
import Foundation

/// A fresh directory under /tmp, removed when the test is done.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "spp-hookd-test") {
        let template = "/tmp/\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        path = bytes.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func read(_ name: String) -> String {
        (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? ""
    }

    /// Every line of the event log decoded as JSON objects: the rotated segments
    /// (`events-<base>.jsonl`, in name order), then `events.jsonl`.
    func events(dataDir: String = "data") -> [[String: Any]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: file(dataDir))) ?? []
        let segments = names.filter { $0.hasPrefix("events-") && $0.hasSuffix(".jsonl") }.sorted()
        return (segments + ["events.jsonl"]).flatMap { jsonLines("\(dataDir)/\($0)") }
    }

    /// A sink's dead letters, complete lines only. Wait on these, not on the file: it is
    /// created (and its name synced) before its first line is written.
    func deadLetters(_ sink: String) -> [[String: Any]] {
        jsonLines("data/dead-letters/\(sink).jsonl")
    }

    /// The JSON object lines of a JSON Lines file in this directory.
    func jsonLines(_ name: String) -> [[String: Any]] {
        read(name).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
