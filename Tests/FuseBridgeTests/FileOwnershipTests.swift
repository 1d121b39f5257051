@testable import FuseBridge
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FileOwnershipTests {
    @Test func theUmaskOnlyTakesBitsAway() {
        let ownership = FileOwnership(umask: 0o027)
        #expect(ownership.mode(0o444) == 0o440)
        #expect(ownership.mode(0o555) == 0o550)
        #expect(FileOwnership(umask: 0).mode(0o444) == 0o444)
    }

    @Test func withoutAnOwnerTheDaemonsUserAndGroupOwnEverything() {
        #expect(FileOwnership().owner == (getuid(), getgid()))
        #expect(FileOwnership(uid: 1000, gid: 1001).owner == (1000, 1001))
    }

    @Test func theSourcesNameTheMountWithCommasAndBackslashesEscaped() {
        let settings = MountSettings(mountpoint: "/mnt", sourceName: #"/a,b\c"#, fuseOptions: ["allow_other"])
        #expect(FuseServer.optionList(settings) == #"default_permissions,fsname=/a\,b\\c,subtype=tensorfs,allow_other,ro"#)
    }
}
