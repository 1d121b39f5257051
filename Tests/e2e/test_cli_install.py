"""scripts/install.sh and what it installs: the manual, shell completions that complete paths,
and mount(8) integration: `mount -t fuse.tensorfs` through mount.fuse3 and through tensorfs's
own helper, /etc/fstab lines, and `umount`. mount(8) runs in private mount namespaces where the
installation, a temporary fstab or the helper stand in /usr/local, /etc and /sbin."""
import os
import subprocess

from conftest import assert_nothing_left, daemons_serving
from system_setup import in_mount_namespace, installed, shared_directory  # noqa: F401 (fixtures)

MANUAL_OPTIONS = ["-o layout=LAYOUT", "-o views=LIST", "-o uid=UID", "-o umask=UMASK", "-o allow_non_empty", "-o tp=N",
                  "-o cache_dir=DIR", "-o prefetch_memory=SIZE", "-o threads=N", "-o read_ahead=KIB", "-o log_file=FILE"]


def test_install_puts_the_command_helper_manual_and_completions_under_the_prefix(installed):
    assert os.access(installed / "bin/tensorfs", os.X_OK)
    assert os.readlink(installed / "sbin/mount.fuse.tensorfs") == "../bin/tensorfs"
    for completion in ("share/bash-completion/completions/tensorfs", "share/zsh/site-functions/_tensorfs",
                       "share/fish/vendor_completions.d/tensorfs.fish"):
        assert (installed / completion).stat().st_size > 0, completion
    environment = {**os.environ, "MANPATH": str(installed / "share/man")}
    # mount.fuse.tensorfs(8) is a link to the same page.
    for page in ("tensorfs", "mount.fuse.tensorfs"):
        found = subprocess.run(["man", "-w", page], capture_output=True, text=True, env=environment)
        assert found.returncode == 0 and found.stdout.strip() == str(installed / "share/man/man1/tensorfs.1"), found


def test_the_manual_lists_every_mount_option_with_its_o_spelling(installed):
    page = subprocess.run(["man", "-l", installed / "share/man/man1/tensorfs.1"], capture_output=True, text=True,
                          env={**os.environ, "MANWIDTH": "300"}, check=True).stdout
    for spelling in MANUAL_OPTIONS:
        assert spelling in page, spelling
    for section in ("MOUNT(8) AND /etc/fstab", "OWNER AND MODES", "READINESS AND EXIT STATUS", "ORDINARY USERS", "LOGGING", "SYSTEMD"):
        assert section in page, section


def complete_in_bash(installed, directory, words):
    """What bash offers for the last of `words`, with the installed completion."""
    script = f"""
        source '{installed}/share/bash-completion/completions/tensorfs'
        COMP_WORDS=({" ".join(f"'{word}'" for word in words)}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
        _tensorfs tensorfs "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    return subprocess.run(["bash", "-c", script], cwd=directory, capture_output=True, text=True, check=True).stdout.split()


def test_completions_offer_paths_where_paths_are_expected(installed, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models/llama.safetensors").write_bytes(b"")
    (tmp_path / "mounts").mkdir()
    assert complete_in_bash(installed, tmp_path, ["tensorfs", "mount", "models/ll"]) == ["models/llama.safetensors"]
    assert complete_in_bash(installed, tmp_path, ["tensorfs", "mount", "--log-file", "models/"]) == ["models/llama.safetensors"]
    assert complete_in_bash(installed, tmp_path, ["tensorfs", "mount", "--cache-dir", "mou"]) == ["mounts"]
    assert complete_in_bash(installed, tmp_path, ["tensorfs", "unmount", "mou"]) == ["mounts"]
    assert complete_in_bash(installed, tmp_path, ["tensorfs", "inspect", "models/ll"]) == ["models/llama.safetensors"]

    fish = subprocess.run(["fish", "-c", f"source '{installed}/share/fish/vendor_completions.d/tensorfs.fish'; "
                           "complete -C 'tensorfs mount models/ll'; complete -C 'tensorfs unmount mou'"],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    assert fish.stdout.split() == ["models/llama.safetensors", "mounts/"]

    zsh = installed / "share/zsh/site-functions/_tensorfs"
    assert subprocess.run(["zsh", "-n", zsh]).returncode == 0
    text = zsh.read_text()
    assert "'*:SOURCE... MOUNTPOINT:_files'" in text and "':mountpoint:_files -/'" in text and ":DIR:_files -/'" in text


def check_mount_and_umount(installed, shared_directory, mount_command, expect_in_options=()):
    """Runs `mount_command` in a namespace where the installation is /usr/local, looks at the
    mount, and unmounts it with umount; returns what the script printed."""
    mountpoint = shared_directory.path / "mnt"
    mountpoint.mkdir(exist_ok=True)
    script = f"""
        {mount_command} || exit 1
        grep ' {mountpoint} ' /proc/mounts
        stat -c '%u %g %a' {mountpoint}/w {mountpoint}
        ls {mountpoint}
        umount {mountpoint} || exit 2
        grep -c ' {mountpoint} ' /proc/mounts || true
    """
    result = in_mount_namespace(script, binds=[(installed, "/usr/local")])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    source, where, kind, options = lines[0].split()[:4]
    assert (source, where, kind) == (str(shared_directory.model), str(mountpoint), "fuse.tensorfs")
    for option in expect_in_options:
        assert option in options.split(","), (option, options)
    assert lines[-1] == "0", "umount left the mount"
    assert_nothing_left(mountpoint)
    return lines


def test_mount_t_runs_tensorfs_through_mount_fuse3_with_every_kind_of_option(installed, shared_directory):
    lines = check_mount_and_umount(
        installed, shared_directory,
        f"mount -t fuse.tensorfs {shared_directory.model} {shared_directory.path}/mnt "
        "-o ro,nofail,_netdev,noauto,x-systemd.automount,allow_other,nosuid,views=raw,uid=4242,gid=4343,umask=027",
        expect_in_options=("ro", "allow_other", "nosuid"))
    assert lines[1:3] == ["4242 4343 440", "4242 4343 550"]
    assert lines[3:7] == ["__metadata__.json", "b", "model.safetensors", "w"], "views=raw leaves no sidecars"


def test_mount_t_runs_the_helper_when_it_is_in_sbin(installed, shared_directory):
    helper = shared_directory.path / "sbin"
    helper.mkdir()
    (helper / "mount.fuse.tensorfs").symlink_to(installed / "bin/tensorfs")
    mountpoint = shared_directory.path / "mnt"
    mountpoint.mkdir()
    script = f"""
        mount -t fuse.tensorfs {shared_directory.model} {mountpoint} -o nofail,layout=flat,umask=077 || exit 1
        tr '\\0' ' ' < /proc/$(pgrep -n -f 'launcher-descriptor.* {mountpoint}$')/cmdline; echo
        stat -c '%a' {mountpoint}/w
        umount {mountpoint} || exit 2
    """
    result = in_mount_namespace(script, overlays=[(helper, "/usr/sbin")])
    assert result.returncode == 0, result.stdout + result.stderr
    daemon, mode = result.stdout.splitlines()
    assert daemon.startswith(f"{installed}/bin/tensorfs mount --launcher-descriptor 3"), "the helper, not mount.fuse3, started it"
    assert mode == "400"
    assert_nothing_left(mountpoint)


def test_fstab_lines_mount_with_mount_a_and_by_mountpoint(installed, shared_directory):
    first, second = shared_directory.path / "mnt", shared_directory.path / "mnt2"
    first.mkdir()
    second.mkdir()
    fstab = shared_directory.path / "fstab"
    fstab.write_text(f"{shared_directory.model} {first} fuse.tensorfs ro,nofail,allow_other,views=raw 0 0\n"
                     f"{shared_directory.model} {second} fuse.tensorfs noauto,x-systemd.automount,layout=flat,uid=4242 0 0\n")
    script = f"""
        mount -a -t fuse.tensorfs || exit 1
        ls {first}
        grep -c ' {second} ' /proc/mounts
        mount {second} || exit 2
        stat -c '%u' {second}/w
        umount {first} && umount {second} || exit 3
        grep -c ' {shared_directory.path}/' /proc/mounts || true
    """
    result = in_mount_namespace(script, binds=[(installed, "/usr/local"), (fstab, "/etc/fstab")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["__metadata__.json", "b", "model.safetensors", "w", "0", "4242", "0"]
    assert_nothing_left(first)
    assert_nothing_left(second)
    assert not daemons_serving(second)
