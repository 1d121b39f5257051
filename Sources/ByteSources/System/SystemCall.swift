import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Makes a C system call that swift-system does not wrap, the one way tensorfs does: `call`
/// returns a negative value and sets `errno` when it fails; an interrupted call (EINTR) is made
/// again, and any other failure is thrown as swift-system's `Errno`. Raw error numbers never
/// leave this function.
@discardableResult
public func systemCall<Value: FixedWidthInteger>(_ call: () -> Value) throws(Errno) -> Value {
    while true {
        let value = call()
        if value >= 0 { return value }
        let code = Errno.current
        if code != .interrupted { throw code }
    }
}

extension Errno {
    /// The error of the last failed C call on this thread.
    public static var current: Errno { Errno(rawValue: errno) }
}
