// SPDX-License-Identifier: MIT
public import SPPHookCore
public import SPPHookPOSIX

extension Daemon {
    /// Why the daemon could not start, or a reload was refused: a case per step, so callers
    /// and tests match on what failed; `description` is the one line the CLI prints, naming
    /// the configuration key.
    public enum StartError: Error, CustomStringConvertible {
        /// A listener could not be bound (`key`: `listen` or `admin.listen`).
        case listen(key: String, address: String, IOError)
        /// The event log could not be opened or recovered in `dataDir`.
        case eventLog(dataDir: String, IOError)
        /// A sink could not be built, or its cursor created.
        case sinks(SinkFactory.SetupError)
        /// The seq floor above the sinks' cursors could not be recorded.
        case seqFloor(IOError)
        /// A secret (`endpoints[…].tokens[…]`, `tls.…`) could not be used, or the TLS
        /// context could not be built from it.
        case secret(key: String, reason: String)
        /// A reload that needs a restart.
        case reload(ReloadPlan.Refusal)

        public var description: String {
            switch self {
            case .listen(let key, let address, let error):
                (key == "listen" ? "" : "\(key): ") + "cannot listen on \(address): \(error)"
            case .eventLog(let dataDir, let error): "cannot open the event log in \(dataDir): \(error)"
            case .sinks(let error): error.description
            case .seqFloor(let error): "cannot record the seq floor above sink cursors: \(error)"
            case .secret(let key, let reason): "\(key): \(reason)"
            case .reload(let refusal): refusal.description
            }
        }
    }
}
