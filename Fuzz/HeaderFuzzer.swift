@testable import SafetensorsFormat

/// libFuzzer's entry point for the header and index readers. Each input is read three ways: as
/// a whole file, as header text in a file sized to fit its offsets (so that validation runs to
/// the end), and as a shard index. No input may trap; whatever is accepted must hold the
/// format's invariants, and every refusal must describe itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaderAndIndex(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)
    readAsFile(input)
    readAsHeaderText(input)
    readAsIndex(input)
    return 0
}

private func readAsFile(_ input: UnsafeRawBufferPointer) {
    do {
        let header = try SafetensorsHeader(fileBytes: input, file: "fuzz")
        checkInvariants(header)
    } catch {
        describe(error)
    }
}

private func readAsHeaderText(_ input: UnsafeRawBufferPointer) {
    guard firstInvalidUTF8Offset(in: input) == nil else { return }
    var parser = HeaderParser(json: input)
    guard let contents = try? parser.parse() else { return }
    let dataEnd = contents.entries.map(\.end).max() ?? 0
    let (fileSize, overflow) = (SafetensorsHeader.prefixLength + UInt64(input.count)).addingReportingOverflow(dataEnd)
    guard !overflow else { return }
    do {
        let header = try SafetensorsHeader(json: input, fileSize: fileSize, file: "fuzz")
        checkInvariants(header)
    } catch {
        describe(error)
    }
}

private func readAsIndex(_ input: UnsafeRawBufferPointer) {
    do {
        let index = try ShardIndex(json: input, file: "fuzz")
        for file in index.shardFiles {
            precondition(ShardIndex.unsafePathReason(file) == nil, "index accepted an unsafe path")
        }
        var names = Set<Utf8Key>()
        for placement in index.weightMap {
            precondition(names.insert(Utf8Key(placement.tensor)).inserted, "index kept a tensor twice")
        }
    } catch {
        describe(error)
    }
}

/// What the format promises of an accepted header.
private func checkInvariants(_ header: SafetensorsHeader) {
    var expectedStart: UInt64 = 0
    var names = Set<Utf8Key>()
    for tensor in header.tensors {
        precondition(tensor.dataOffsets.start == expectedStart, "tensors do not tile the data buffer")
        precondition(tensor.impliedByteCount == tensor.byteCount, "byte count disagrees with dtype and shape")
        precondition(names.insert(Utf8Key(tensor.name)).inserted, "duplicate tensor name accepted")
        let range = header.fileRange(of: tensor)
        precondition(range.end <= header.fileSize, "tensor reaches past the end of the file")
        expectedStart = tensor.dataOffsets.end
    }
    precondition(header.dataStart + expectedStart == header.fileSize, "data does not end at the end of the file")
}

private func describe(_ error: SafetensorsError) {
    let line = error.description
    precondition(!line.isEmpty && line.hasPrefix("fuzz: "), "an error that does not name its file")
}
