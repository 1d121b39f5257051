import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Copies out of this process's own memory through the kernel (`process_vm_readv` on itself),
/// many pieces per system call. A page that cannot be read, such as a page of a mapped file that
/// shrank, makes the call fail with EFAULT where touching it directly would raise SIGBUS.
public enum OwnMemoryCopy {
    private typealias ProcessVMRead = @convention(c) (
        pid_t, UnsafePointer<iovec>?, UInt, UnsafePointer<iovec>?, UInt, UInt
    ) -> Int

    /// The C library's `process_vm_readv`, looked up at run time (Swift's Glibc module does not
    /// declare it); nil when the library lacks it.
    private static let processVMRead: ProcessVMRead? = dlsym(nil, "process_vm_readv").map { unsafeBitCast($0, to: ProcessVMRead.self) }

    /// The most pieces one call takes (the kernel's IOV_MAX).
    private static let piecesPerCall = 1024

    /// How a copy stopped short.
    public struct Failure: Error {
        /// How many bytes were copied before it stopped.
        public var copied: Int
        /// Why the failing call failed (ENOSYS when the call does not exist).
        public var errno: Errno
    }

    /// Fills `destination` with the bytes of `pieces`, in order and end to end.
    public static func copy(_ pieces: [UnsafeRawBufferPointer], into destination: UnsafeMutableRawBufferPointer) throws(Failure) {
        guard let processVMRead else { throw Failure(copied: 0, errno: .noFunction) }
        let process = getpid()
        var copied = 0
        var next = 0
        var skip = 0
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: piecesPerCall) { (remote) throws(Failure) in
            while next < pieces.count {
                var count = 0
                var wanted = 0
                while count < piecesPerCall && next + count < pieces.count {
                    let piece = pieces[next + count]
                    let start = count == 0 ? skip : 0
                    remote[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: piece.baseAddress.map { $0 + start }), iov_len: piece.count - start)
                    wanted += piece.count - start
                    count += 1
                }
                var local = iovec(iov_base: destination.baseAddress.map { $0 + copied }, iov_len: wanted)
                let done: Int
                do throws(Errno) {
                    done = try systemCall { processVMRead(process, &local, 1, remote.baseAddress, UInt(count), 0) }
                } catch {
                    throw Failure(copied: copied, errno: error)
                }
                guard done > 0 || wanted == 0 else { throw Failure(copied: copied, errno: .badAddress) }
                copied += done
                // Resume after the bytes copied, possibly inside a piece.
                var left = done + skip
                skip = 0
                while next < pieces.count && left >= pieces[next].count {
                    left -= pieces[next].count
                    next += 1
                }
                skip = left
            }
        }
    }
}
