#if canImport(Glibc)
import Glibc
#endif

/// The C library's message for `code`, e.g. "No such file or directory".
func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
