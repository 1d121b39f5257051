import ByteSources
import SafetensorsFormat

/// Merges loaded files into one model and checks them against their indexes.
struct ModelAssembly {
    let plan: SourcePlan
    let files: [LoadedFile]
    /// The companion files opened, in the plan's order.
    let companions: [CompanionFile]
    /// Oddities found so far, each one line.
    let warnings: [String]

    func assemble() throws(ModelError) -> LogicalModel {
        var shards: [Shard] = []
        shards.reserveCapacity(files.count)
        var tensors: [ModelTensor] = []
        tensors.reserveCapacity(files.reduce(0) { $0 + $1.header.tensors.count })
        for (shardNumber, file) in files.enumerated() {
            let header = file.header
            shards.append(Shard(
                source: file.source, relativeName: file.planned.relativeName, metadata: header.metadata,
                dataStart: header.dataStart, tensorCount: header.tensors.count))
            for info in header.tensors {
                tensors.append(ModelTensor(info: info, shard: shardNumber, fileRange: header.fileRange(of: info)))
            }
        }
        // A file's header has no name twice, and an index checks its own shards against each
        // other; only files from different indexes or SOURCEs need every name in one table.
        let unindexedFiles = files.count { $0.planned.listing == nil }
        let owners = plan.indexes.count + unindexedFiles > 1 ? try owners(of: tensors) : nil
        var warnings = self.warnings
        for number in plan.indexes.indices {
            warnings += try check(index: number, tensors: tensors, owners: owners)
        }
        let indexes = plan.indexes.map {
            IndexSummary(file: $0.relativeName, metadataJSON: $0.index.metadataJSON, metadataStrings: $0.index.metadataStrings)
        }
        // A lone index that places every tensor (the check found each placement held) names
        // exactly the model's tensors: its table serves the namespace as well.
        let loneIndexNames = plan.indexes.count == 1 && unindexedFiles == 0 && plan.indexes[0].index.placementCount == tensors.count
            ? plan.indexes[0].index.tensorNames : nil
        return LogicalModel(
            name: plan.name, shards: shards, tensors: tensors, indexes: indexes,
            companions: companions.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }, warnings: warnings,
            tensorNames: owners ?? loneIndexNames)
    }

    /// Every tensor's name, numbered as the tensors are; fails on a name that two files hold.
    private func owners(of tensors: [ModelTensor]) throws(ModelError) -> NameTable {
        var owners = NameTable(minimumCapacity: tensors.count)
        for tensor in tensors {
            let (isNew, existing) = owners.insert(tensor.name)
            if !isNew { throw duplicate(tensor.name, in: tensors[existing].shard, and: tensor.shard) }
        }
        return owners
    }

    private func duplicate(_ name: String, in first: Int, and second: Int) -> ModelError {
        let (first, second) = (files[first].planned, files[second].planned)
        return .duplicateTensor(name: name, firstFile: first.displayName, secondFile: second.displayName, acrossSources: first.source != second.source)
    }

    /// Checks the index's shards against its `weight_map`. Fails on a tensor in two of them, on
    /// a tensor placed in a shard that does not hold it, and on a placed tensor no shard holds;
    /// warns of tensors the shards hold that it leaves out, and of a `total_size` that
    /// disagrees: the hub's loader accepts both.
    private func check(index number: Int, tensors: [ModelTensor], owners: NameTable?) throws(ModelError) -> [String] {
        let planned = plan.indexes[number]
        let index = planned.index
        let listedFiles = files.indices.filter { files[$0].planned.listing?.index == number }
        var fileOfShard = [Int](repeating: -1, count: index.shardFiles.count)
        for file in listedFiles { fileOfShard[files[file].planned.listing!.shard] = file }
        // The file holding each placement's tensor, as found.
        var holders = [Int](repeating: -1, count: index.placementCount)
        var misplaced: (position: Int, holder: Int)?
        var unlisted: [String] = []
        var unlistedCount = 0
        // Where the index places each tensor of each file (nil: it leaves the tensor out),
        // looked up on all cores.
        let positions = listedFiles.parallelMap { [files] file in
            files[file].header.tensors.map { index.position(ofTensorNamed: $0.name) }
        }
        for (file, positions) in zip(listedFiles, positions) {
            for (tensor, position) in zip(files[file].header.tensors, positions) {
                guard let position else {
                    unlistedCount += 1
                    if unlisted.count < 3 { unlisted.append(tensor.name) }
                    continue
                }
                if holders[position] >= 0 { throw duplicate(tensor.name, in: holders[position], and: file) }
                holders[position] = file
                if misplaced == nil && fileOfShard[index.shard(ofPlacement: position)] != file { misplaced = (position, file) }
            }
        }
        func placementError(_ position: Int, _ reality: String) -> ModelError {
            let placement = index.placement(position)
            return .inconsistent(file: planned.displayName, reason: "the weight_map places tensor \(quoted(placement.tensor)) in \(quoted(placement.file)), \(reality)")
        }
        if let misplaced {
            throw placementError(misplaced.position, "but it is in \(quoted(files[misplaced.holder].planned.relativeName))")
        }
        if let position = holders.firstIndex(of: -1) {
            if let owner = owners?.number(of: index.placement(position).tensor) {
                throw placementError(position, "but it is in \(quoted(files[tensors[owner].shard].planned.relativeName))")
            }
            throw placementError(position, "which does not hold it")
        }
        var warnings: [String] = []
        if unlistedCount > 0 {
            let examples = unlisted.map(quoted).joined(separator: ", ")
            let (tensors, are) = unlistedCount == 1 ? ("tensor", "is") : ("tensors", "are")
            warnings.append("\(planned.displayName): \(unlistedCount) \(tensors) in the shards \(are) missing from the weight_map (\(examples)\(unlistedCount > 3 ? ", …" : "")); \(unlistedCount == 1 ? "it is" : "they are") mounted anyway")
        }
        if let declared = index.totalSize {
            let actual = listedFiles.reduce(UInt64(0)) { total, file in
                files[file].header.tensors.reduce(total) { $0 &+ $1.byteCount }
            }
            if declared != actual {
                warnings.append("\(planned.displayName): metadata.total_size is \(declared) but the shards' tensors hold \(actual) bytes")
            }
        }
        return warnings
    }
}
