import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Opens the directory a disk cache lives in, refusing one that another user could change:
/// a mount running as root must never delete or overwrite files that someone else's links point
/// at. The directory (created 0700 when missing) must belong to the user the mount runs as and
/// be writable by no one else; the entries live in `v1` inside it, 0700.
enum CacheDirectory {
    /// The folder of the entries, inside the directory the user names.
    static let entriesFolder = "v1"

    /// The entries' folder of the cache in `path`, open, after the checks.
    static func open(_ path: String) throws(RemoteSetupError) -> OpenDirectory {
        let directory = try openOwned(path, create: { () throws(Errno) in
            try systemCall { mkdir(path, FilePermissions.ownerReadWriteExecute.rawValue) }
        }, open: { () throws(Errno) in
            try OpenDirectory.open(path)
        })
        let entriesPath = path + (path.hasSuffix("/") ? "" : "/") + entriesFolder
        let entries = try openOwned(entriesPath, create: { () throws(Errno) in
            try directory.makeDirectory(named: entriesFolder, permissions: .ownerReadWriteExecute)
        }, open: { () throws(Errno) in
            try directory.openDirectory(named: entriesFolder)
        })
        // Older versions made the folder 0755 and its entries 0644: closing the folder to
        // others keeps those entries private too.
        do throws(Errno) {
            let mode = try entries.status().permissions
            if mode != .ownerReadWriteExecute {
                try systemCall { fchmod(entries.descriptor.rawValue, FilePermissions.ownerReadWriteExecute.rawValue) }
            }
        } catch {
            throw RemoteSetupError(description: "\(entriesPath): cannot make the cache folder private: \(error)")
        }
        return entries
    }

    /// The directory at `path`, made by `create` when missing and opened by `open`, after
    /// checking on the open descriptor who owns it and who may write to it.
    private static func openOwned(
        _ path: String, create: () throws(Errno) -> Void, open: () throws(Errno) -> OpenDirectory
    ) throws(RemoteSetupError) -> OpenDirectory {
        let directory: OpenDirectory
        let status: Stat
        do throws(Errno) {
            do throws(Errno) {
                try create()
            } catch .fileExists {
            }
            directory = try open()
            status = try directory.status()
        } catch .tooManySymbolicLinkLevels, .notDirectory {
            throw RemoteSetupError(description: "\(path): the cache directory is not a directory (a symbolic link?)")
        } catch {
            throw RemoteSetupError(description: "\(path): cannot use the cache directory: \(error)")
        }
        let user = geteuid()
        guard status.userID.rawValue == user else {
            throw RemoteSetupError(description: "\(path): the cache directory belongs to user \(status.userID.rawValue), not to the user the mount runs as (\(user)); use a directory of your own")
        }
        guard status.permissions.isDisjoint(with: [.groupWrite, .otherWrite]) else {
            throw RemoteSetupError(description: "\(path): other users may write to the cache directory (mode \(String(status.permissions.rawValue, radix: 8))); make it private (chmod 700) or use another")
        }
        guard user == 0 || status.permissions.contains(.ownerReadWriteExecute) else {
            throw RemoteSetupError(description: "\(path): cannot write to the cache directory (mode \(String(status.permissions.rawValue, radix: 8)))")
        }
        return directory
    }
}
