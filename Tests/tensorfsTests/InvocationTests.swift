import FuseBridge
import Mounting
import Testing
@testable import tensorfs

@Suite struct InvocationTests {
    @Test func everyMountOptionHasAnOSpellingThatGivesTheSameMount() throws {
        let spelled = "layout=flat,views=\"raw,npy\",separate,uid=1000,gid=1001,umask=027,nonempty,debug,read_ahead=0,threads=3,"
            + "log_file=/var/log/t.log,tp=2,tp=4,tp_rules=/etc/rules,tp_rule=*.w 0,tp_no_default_rules,tp_uneven=array-split,"
            + "tp_cache_mib=64,revision=v2,include_other_weights,header=Authorization: Bearer secret-0451,no_sign_request,read_timeout=7,stall_timeout=2,"
            + "cache_dir=/var/cache/t,cache_size=3G,part_size=1M,prefetch_memory=64M,allow_other"
        guard case .run(let arguments) = Invocation(commandLine: [
            "tensorfs", "mount", "-o", spelled, "https://u:p@h.example/m.safetensors?sig=1", "/models/b.safetensors", "/mnt/m",
        ]) else {
            Issue.record("not a command to run")
            return
        }
        #expect(arguments.first == "mount")
        let fromSpellings = try MountCommand.parse(Array(arguments.dropFirst())).configuration()
        #expect(fromSpellings == (try MountCommand.parse(MountCommandTests.everyOption).configuration()))
    }

    @Test func mountCommandOptionsAreDroppedAndFuseOptionsPassedOn() {
        let invocation = Invocation(commandLine: [
            "tensorfs", "mount", "-o", "ro,rw,defaults,nofail,_netdev,noauto,auto,user,users,x-systemd.automount,comment=x,nosuid,max_read=65536",
            "/m.safetensors", "/mnt",
        ])
        #expect(invocation == .run(["mount", "-o", "nosuid,max_read=65536", "/m.safetensors", "/mnt"]))
    }

    @Test func mountFuse3sFormMountsWithoutTheCommandName() {
        #expect(Invocation(commandLine: ["tensorfs", "/m.safetensors", "/mnt", "-o", "ro,views=raw"])
            == .run(["mount", "/m.safetensors", "/mnt", "--views", "raw"]))
    }

    @Test func theMountHelperTakesMountsArguments() {
        #expect(Invocation(commandLine: ["/sbin/mount.fuse.tensorfs", "/m.safetensors", "/mnt", "-o", "rw,nofail,layout=flat", "-t", "fuse.tensorfs"])
            == .run(["mount", "--layout", "flat", "--", "/m.safetensors", "/mnt"]))
        #expect(Invocation(commandLine: ["mount.fuse.tensorfs", "-sv", "/m.safetensors", "/mnt", "-oallow_other"])
            == .run(["mount", "-o", "allow_other", "--", "/m.safetensors", "/mnt"]))
        #expect(Invocation(commandLine: ["mount.fuse.tensorfs", "/m.safetensors", "/mnt", "-f", "-o", "ro"]) == .fake)
        guard case .refused = Invocation(commandLine: ["mount.fuse.tensorfs", "/m.safetensors"]) else {
            Issue.record("a helper call without a directory was accepted")
            return
        }
    }

    @Test func otherCommandsAndTheVersionAreLeftAlone() {
        for arguments in [["unmount", "/mnt"], ["umount", "/mnt"], ["inspect", "--json", "/m.safetensors"], ["-V"], ["--help"], ["help", "mount"], ["moutn"], []] {
            #expect(Invocation(commandLine: ["tensorfs"] + arguments) == .run(arguments))
        }
    }

    @Test func afterADoubleDashNothingIsExpanded() {
        #expect(Invocation(commandLine: ["tensorfs", "mount", "--", "-o", "/mnt"]) == .run(["mount", "--", "-o", "/mnt"]))
    }
}
