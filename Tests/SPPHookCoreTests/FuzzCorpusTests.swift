// SPDX-License-Identifier: MIT
import Foundation
import FuzzChecks
import Testing

/// Every input in the fuzzer's committed corpus (seeds, coverage-merged inputs, and each
/// input that once crashed it: `crash-*`) still passes the fuzzer's checks.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fuzz/corpus").path

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus)) ?? []).sorted()
    }

    @Test func theCorpusIsThereWithItsCrashes() {
        #expect(Self.files.count >= 100)
        #expect(Self.files.filter { $0.hasPrefix("crash-") }.count >= 8)
    }

    @Test(arguments: files.filter { $0.hasPrefix("crash-") })
    func formerCrash(_ name: String) throws {
        try Self.check(name)
    }

    @Test func everyInput() throws {
        for name in Self.files { try Self.check(name) }
    }

    /// A violated property is recorded with the input's name (the runner goes on).
    static func check(_ name: String) throws {
        FuzzChecks.all(Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name)))) { why in
            Issue.record("corpus input \(name): \(why)")
        }
    }
}
