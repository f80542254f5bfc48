// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import CJQ

/// One compiled `jq_state`. jq 1.6 keeps a running program's stack, input and error
/// callback in it, so a state is used by one thread at a time: ``JQProgram`` lends it out
/// from its pool and takes it back (that is what makes the unchecked `Sendable` sound).
final class JQState: @unchecked Sendable {
    /// Messages jq reports through its error callback (compile errors).
    final class Messages {
        var list: [String] = []
    }

    let handle: OpaquePointer
    private let messages: Messages

    /// Compiles `program` with the named arguments `args`; on failure returns jq's messages.
    static func compile(_ program: String, args: [String: String]) -> Result<JQState, JQMessages> {
        guard let jq = jq_init() else { return .failure(JQMessages(list: ["jq: cannot allocate a jq_state"])) }
        let messages = Messages()
        jq_set_error_cb(jq, collect, Unmanaged.passUnretained(messages).toOpaque())
        var argv = jv_object()
        for (k, v) in args.sorted(by: { $0.key < $1.key }) { argv = jv_object_set(argv, jv_string(k), jv_string(v)) }
        guard jq_compile_args(jq, program, argv) != 0 else {
            var handle: OpaquePointer? = jq
            jq_teardown(&handle)
            return .failure(JQMessages(list: messages.list))
        }
        // Compiled: anything jq reports from now on (nothing, in jq 1.6: run-time errors come
        // back as values) is dropped rather than collected by a thread that does not look.
        jq_set_error_cb(jq, collect, nil)
        return .success(JQState(handle: jq, messages: messages))
    }

    /// jq's error callback: appends the message to the `Messages` in `data`, or drops it.
    private static let collect: jq_msg_cb = { data, message in
        guard let data else { return jv_free(message) }
        Unmanaged<Messages>.fromOpaque(data).takeUnretainedValue().list.append(JQValue.text(of: message))
    }

    private init(handle: OpaquePointer, messages: Messages) {
        self.handle = handle
        self.messages = messages
    }

    deinit {
        var h: OpaquePointer? = handle
        jq_teardown(&h)
    }
}

/// What jq said when a program did not compile.
struct JQMessages: Error {
    var list: [String]
}
