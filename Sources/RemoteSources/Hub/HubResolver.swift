import ByteSources
import Synchronization

/// What the `hf://` sources of a process share: the Hugging Face settings, worked out on first
/// use, and each repository's listing at the revision asked for, taken once: every file of a
/// mount is read at the commit its revision pointed at then.
final class HubResolver: Sendable {
    private let environment: [String: String]
    private let settingsResult = Mutex<Result<HubSettings, HubSettingsError>?>(nil)
    private let snapshots = Mutex<[HubSnapshotKey: Result<HubSnapshot, ModelError>]>([:])

    /// Resolves settings from `environment`.
    init(environment: [String: String]) {
        self.environment = environment
    }

    /// The settings (`HF_*` variables, the token file).
    func settings() throws(HubSettingsError) -> HubSettings {
        let environment = self.environment
        let result = settingsResult.withLock { cached in
            if let cached { return cached }
            let resolved = Result { () throws(HubSettingsError) -> HubSettings in
                try HubSettings.resolve(environment: environment) { (path) throws(SmallFile.Failure) -> [UInt8] in
                    try SmallFile.read(path, limit: 64 << 10)
                }
            }
            cached = resolved
            return resolved
        }
        return try result.get()
    }

    /// The listing of `location`'s repository at its revision, fetched over `transport` the
    /// first time it is asked for. Listings are taken one at a time, so that two files of one
    /// repository can never be resolved against two commits.
    func snapshot(of location: HubLocation, transport: any Transport, policy: RetryPolicy) throws(ModelError) -> HubSnapshot {
        let key = HubSnapshotKey(repository: location.repository, revision: location.effectiveRevision)
        let shown = HubLocation(repository: location.repository, revision: location.revision, path: "").text
        let settings: HubSettings
        do {
            settings = try self.settings()
        } catch {
            throw .unusableSource(shown, reason: error.description)
        }
        let result = snapshots.withLock { known in
            if let found = known[key] { return found }
            let listed = Result { () throws(ModelError) -> HubSnapshot in
                guard !settings.offline else {
                    throw .unusableSource(shown, reason: "HF_HUB_OFFLINE is set, and the local cache \(settings.cacheDirectory) has no complete snapshot of it")
                }
                do throws(ListingFailure) {
                    return try HubListing(settings: settings, transport: transport, policy: policy).snapshot(of: location)
                } catch {
                    throw .unusableSource(shown, reason: error.description)
                }
            }
            known[key] = listed
            return listed
        }
        return try result.get()
    }
}

/// A repository at a revision.
private struct HubSnapshotKey: Hashable {
    var repository: HubRepository
    var revision: String
}
