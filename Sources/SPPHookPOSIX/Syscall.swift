// SPDX-License-Identifier: MIT
import Glibc

/// An OS error with the call that produced it.
public struct IOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var errno: Int32
    public var function: String

    public init(errno: Int32, function: String) {
        self.errno = errno
        self.function = function
    }

    public var description: String { "\(function): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The one seam for POSIX calls: retries EINTR, reports EAGAIN as `nil`, traps on
/// EBADF/EFAULT (a programming error, not a runtime condition), throws anything else.
@discardableResult
package func syscall<T: BinaryInteger>(
    wouldBlockIsNil: Bool = false, _ function: String = #function, _ body: () -> T
) throws(IOError) -> T? {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        switch e {
        case EINTR: continue
        case EAGAIN where wouldBlockIsNil: return nil
        case EBADF, EFAULT: preconditionFailure("\(function): \(String(cString: strerror(e)))")
        default: throw IOError(errno: e, function: function)
        }
    }
}

/// `syscall` for calls that cannot return EAGAIN.
@discardableResult
package func sys<T: BinaryInteger>(_ function: String, _ body: () -> T) throws(IOError) -> T {
    try syscall(wouldBlockIsNil: false, function, body)!  // nil only when wouldBlockIsNil
}
