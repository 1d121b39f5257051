import SystemPackage

extension FileDescriptor {
    /// Reads from `offset` until `buffer` is full or the file ends; returns how many bytes were
    /// read (fewer than asked only at the end of the file).
    func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let count: Int
            do {
                count = try read(fromAbsoluteOffset: Int64(offset + done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            } catch {
                throw error as? Errno ?? .ioError
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    /// Exactly `count` bytes from `offset`, or nil when the file ends first.
    func readFully(count: Int, at offset: Int) throws(Errno) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let done = bytes.withUnsafeMutableBytes { buffer in Result { () throws(Errno) in try readFully(into: buffer, at: offset) } }
        return try done.get() == count ? bytes : nil
    }
}
