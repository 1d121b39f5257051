import SafetensorsFormat
import Glibc

let path = CommandLine.arguments[1]
let fd = open(path, O_RDONLY)
var st = stat()
fstat(fd, &st)
let size = Int(st.st_size)
let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)!
let bytes = UnsafeRawBufferPointer(start: map, count: size)
do {
    let header = try SafetensorsHeader(fileBytes: bytes, file: path)
    print(header.tensors.count, header.metadata ?? [])
    for t in header.tensors.prefix(5) { print(t) }
} catch {
    print(error)
}
