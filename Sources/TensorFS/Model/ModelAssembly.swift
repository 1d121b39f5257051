import SafetensorsFormat

/// Merges loaded files into one model and checks them against their indexes.
struct ModelAssembly {
    let plan: SourcePlan
    let files: [LoadedFile]

    func assemble() throws(ModelError) -> LogicalModel {
        let tensorCount = files.reduce(0) { $0 + $1.header.tensors.count }
        var shards: [Shard] = []
        shards.reserveCapacity(files.count)
        var tensors: [ModelTensor] = []
        tensors.reserveCapacity(tensorCount)
        var owners = [Utf8Key: Int](minimumCapacity: tensorCount)
        for (shardNumber, file) in files.enumerated() {
            let header = file.header
            shards.append(Shard(
                source: file.source, relativeName: file.planned.relativeName, metadata: header.metadata,
                dataStart: header.dataStart, tensorCount: header.tensors.count))
            for info in header.tensors {
                if let existing = owners.updateValue(tensors.count, forKey: Utf8Key(info.name)) {
                    let first = files[tensors[existing].shard].planned
                    throw .duplicateTensor(
                        name: info.name, firstFile: first.location, secondFile: file.planned.location,
                        acrossSources: first.source != file.planned.source)
                }
                tensors.append(ModelTensor(info: info, shard: shardNumber, fileRange: header.fileRange(of: info)))
            }
        }
        var warnings: [String] = []
        for number in plan.indexes.indices {
            warnings += try check(index: number, tensors: tensors, owners: owners)
        }
        let indexes = plan.indexes.map {
            IndexSummary(file: $0.relativeName, metadataJSON: $0.index.metadataJSON, metadataStrings: $0.index.metadataStrings)
        }
        return LogicalModel(name: plan.name, shards: shards, tensors: tensors, indexes: indexes, warnings: warnings)
    }

    /// Fails where the index places a tensor where it is not; warns of tensors its shards hold
    /// that it leaves out, and of a `total_size` that disagrees: the hub's loader accepts both.
    private func check(index number: Int, tensors: [ModelTensor], owners: [Utf8Key: Int]) throws(ModelError) -> [String] {
        let planned = plan.indexes[number]
        let index = planned.index
        let listedFiles = files.indices.filter { files[$0].planned.listing?.index == number }
        var fileOfShard = [Int](repeating: -1, count: index.shardFiles.count)
        for file in listedFiles { fileOfShard[files[file].planned.listing!.shard] = file }
        for placement in index.weightMap {
            func misplaced(_ reality: String) -> ModelError {
                .inconsistent(file: planned.location, reason: "the weight_map places tensor \(quoted(placement.tensor)) in \(quoted(placement.file)), \(reality)")
            }
            guard let owner = owners[Utf8Key(placement.tensor)] else {
                throw misplaced("which does not hold it")
            }
            let holder = tensors[owner].shard
            guard holder == fileOfShard[placement.shard] else {
                throw misplaced("but it is in \(quoted(files[holder].planned.relativeName))")
            }
        }
        var warnings: [String] = []
        let heldCount = listedFiles.reduce(0) { $0 + files[$1].header.tensors.count }
        if heldCount > index.weightMap.count {
            let listed = Set(index.weightMap.map { Utf8Key($0.tensor) })
            let missing = listedFiles.lazy.flatMap { self.files[$0].header.tensors }.filter { !listed.contains(Utf8Key($0.name)) }
            let count = heldCount - index.weightMap.count
            let examples = missing.prefix(3).map { quoted($0.name) }.joined(separator: ", ")
            warnings.append("\(planned.location): \(count) tensors in the shards are missing from the weight_map (\(examples)\(count > 3 ? ", …" : "")); they are mounted anyway")
        }
        if let declared = index.totalSize {
            let actual = listedFiles.reduce(UInt64(0)) { total, file in
                files[file].header.tensors.reduce(total) { $0 &+ $1.byteCount }
            }
            if declared != actual {
                warnings.append("\(planned.location): metadata.total_size is \(declared) but the shards' tensors hold \(actual) bytes")
            }
        }
        return warnings
    }
}
