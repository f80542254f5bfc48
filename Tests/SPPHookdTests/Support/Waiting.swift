// SPDX-License-Identifier: MIT
import Foundation

/// Polls `condition` until it holds (or fails after `seconds`).
func waitFor(_ seconds: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw DaemonError(message: "condition not met within \(seconds) s")
}
