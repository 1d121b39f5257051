import SafetensorsFormat

/// Merges loaded files into one model and checks them against their indexes.
struct ModelAssembly {
    let plan: SourcePlan
    let files: [LoadedFile]

    func assemble() throws(ModelError) -> LogicalModel {
        var shards: [Shard] = []
        var tensors: [ModelTensor] = []
        tensors.reserveCapacity(files.reduce(0) { $0 + $1.header.tensors.count })
        var owners: [Utf8Key: Int] = Dictionary(minimumCapacity: tensors.capacity)
        for (shardNumber, file) in files.enumerated() {
            let header = file.header
            shards.append(Shard(
                source: file.source, relativeName: file.planned.relativeName, metadata: header.metadata,
                dataStart: header.dataStart, tensorCount: header.tensors.count))
            for info in header.tensors {
                if let existing = owners.updateValue(tensors.count, forKey: Utf8Key(info.name)) {
                    throw .duplicateTensor(
                        name: info.name,
                        firstFile: files[tensors[existing].shard].planned.displayName,
                        secondFile: file.planned.displayName)
                }
                tensors.append(ModelTensor(info: info, shard: shardNumber, fileRange: header.fileRange(of: info)))
            }
        }
        var warnings: [String] = []
        for index in plan.indexes {
            warnings += try check(index, tensors: tensors, owners: owners)
        }
        return LogicalModel(
            name: plan.name, shards: shards, tensors: tensors,
            indexes: plan.indexes.map { IndexSummary(file: $0.displayName, metadataJSON: $0.index.metadataJSON, metadataStrings: $0.index.metadataStrings) },
            warnings: warnings)
    }

    /// Fails where the index places a tensor where it is not; warns of tensors it leaves out
    /// and of a `total_size` that disagrees, which the hub's loader accepts.
    private func check(_ planned: PlannedIndex, tensors: [ModelTensor], owners: [Utf8Key: Int]) throws(ModelError) -> [String] {
        let index = planned.index
        var listedCount = 0
        for placement in index.weightMap {
            guard let owner = owners[Utf8Key(placement.tensor)] else {
                throw .inconsistent(file: planned.displayName, reason: "the weight_map places tensor \(quotedName(placement.tensor)) in \(quotedName(placement.file)), which does not hold it")
            }
            let holder = files[tensors[owner].shard].planned
            guard let listing = holder.listing, listing.index == planned.location,
                  listing.weightMapName == placement.file else {
                throw .inconsistent(file: planned.displayName, reason: "the weight_map places tensor \(quotedName(placement.tensor)) in \(quotedName(placement.file)), but it is in \(quotedName(holder.relativeName))")
            }
            listedCount += 1
        }
        var warnings: [String] = []
        let shardsOfIndex = files.indices.filter { files[$0].planned.listing?.index == planned.location }
        let heldCount = shardsOfIndex.reduce(0) { $0 + files[$1].header.tensors.count }
        if heldCount > listedCount {
            let listed = Set(index.weightMap.map { Utf8Key($0.tensor) })
            let missing = shardsOfIndex.lazy.flatMap { self.files[$0].header.tensors }.filter { !listed.contains(Utf8Key($0.name)) }
            let examples = missing.prefix(3).map { quotedName($0.name) }.joined(separator: ", ")
            warnings.append("\(planned.displayName): \(heldCount - listedCount) tensors in the shards are missing from the weight_map (\(examples)\(heldCount - listedCount > 3 ? ", …" : "")); they are mounted anyway")
        }
        if let declared = index.totalSize {
            let actual = shardsOfIndex.reduce(UInt64(0)) { total, shard in
                files[shard].header.tensors.reduce(total) { $0 &+ $1.byteCount }
            }
            if declared != actual {
                warnings.append("\(planned.displayName): metadata.total_size is \(declared) but the shards' tensors hold \(actual) bytes")
            }
        }
        return warnings
    }
}
