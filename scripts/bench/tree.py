"""Row 6: `find` over the whole mounted tree of a model of 100,000 tensors in 160 shards, against
`find` over the same tree of empty files on local disk; (a) first walk, on a fresh mount and with
caches dropped for the local tree, (b) a second walk of each."""
import os
import shutil
import subprocess

from common import Mount, arguments, drop_caches, emit, log, ratio_row, sharded_model, timed

MARKER = ".complete"


def mirror(tree, copy):
    """Recreates the directories and (empty) files of `tree` under `copy`, then a marker file."""
    log(f"bench: copying the mounted tree's shape to {copy}")
    shutil.rmtree(copy, ignore_errors=True)
    for directory, _, files in os.walk(tree):
        target = os.path.join(copy, os.path.relpath(directory, tree))
        os.makedirs(target, exist_ok=True)
        for name in files:
            open(os.path.join(target, name), "wb").close()
    open(os.path.join(copy, MARKER), "wb").close()


def walk(root):
    """`find ROOT`, output discarded; returns the number of entries it printed."""
    output = subprocess.run(["find", root], check=True, capture_output=True).stdout
    return output.count(b"\n")


def main():
    args = arguments(__doc__)
    index = sharded_model(args.work)
    mountpoint = os.path.join(args.work, "mnt")
    local = os.path.join(args.work, "sharded-tree")
    if not os.path.exists(os.path.join(local, MARKER)):
        with Mount(args.binary, [index], mountpoint, args.mount_option) as mounted:
            mirror(mounted, local)
    samples = {"first": [], "second": []}
    for repeat in range(args.repeats):
        log(f"bench: find, repeat {repeat + 1} of {args.repeats}")
        drop_caches()
        local_first, local_count = timed(lambda: walk(local))
        local_second, _ = timed(lambda: walk(local))
        with Mount(args.binary, [index], mountpoint, args.mount_option) as mounted:
            drop_caches()
            mounted_first, mounted_count = timed(lambda: walk(mounted))
            mounted_second, _ = timed(lambda: walk(mounted))
        # The local copy holds its marker file besides the mounted tree's entries.
        if mounted_count != local_count - 1:
            raise SystemExit(f"bench: find saw {mounted_count} entries in the mount, {local_count - 1} in its copy")
        samples["first"].append((local_first, mounted_first))
        samples["second"].append((local_second, mounted_second))
    emit(ratio_row("6a", f"find over the mounted tree ({mounted_count} entries), fresh mount",
                   "find over the same tree of empty files on local disk, caches dropped", ">= 0.5", samples["first"]))
    emit(ratio_row("6b", "find again over the mounted tree", "find again over the local tree", ">= 0.5", samples["second"]))


if __name__ == "__main__":
    main()
