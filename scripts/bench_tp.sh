#!/usr/bin/env bash
# Tensor-parallel views: rank 3 of 8 reading its whole slice set against reading the full model.
# Builds a release binary, writes a Llama-like model (F16, default rules), then for each case
# mounts afresh with --tp 8 and reads, reporting the bytes the daemon read from the source
# (read_bytes of /proc/<daemon>/io: what came off the disk for it) and the time, as a markdown table.
# Both files are served by the daemon (--no-passthrough): otherwise the kernel reads the whole
# model.safetensors of a one-file model itself, out of the daemon's sight, and the rows would
# compare slicing with passthrough instead of measuring what slicing saves.
#
#   scripts/bench_tp.sh [WORKDIR]   (default /tmp/tensorfs-bench-tp; LAYERS=2 HIDDEN=4096
#                                    INTERMEDIATE=11008 VOCAB=32000 REPEAT=3 override the defaults)
#
# Run by scripts/bench.sh (TENSORFS_BIN set: no build; BENCH_FORMAT=rows: each rank row is also
# printed as a JSON line for the combined table, see scripts/bench/common.py).
#
# "source cold": the model file's pages are evicted from the page cache before the mount
# (posix_fadvise DONTNEED on that file only), so read_bytes counts what came off the disk.
# "source cached": the file is read once beforehand; only the time means something.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${1:-/tmp/tensorfs-bench-tp}
LAYERS=${LAYERS:-2}
HIDDEN=${HIDDEN:-4096}
INTERMEDIATE=${INTERMEDIATE:-11008}
VOCAB=${VOCAB:-32000}
REPEAT=${REPEAT:-3}
RANK=3
DEGREE=8

if [ -n "${TENSORFS_BIN:-}" ]; then
  BIN=$TENSORFS_BIN
else
  swift build -c release >&2
  BIN="$(swift build -c release --show-bin-path)/tensorfs"
fi
mkdir -p "$WORK/mnt"
MODEL="$WORK/model-$LAYERS-$HIDDEN-$INTERMEDIATE-$VOCAB.safetensors"
MNT="$WORK/mnt"

if [ ! -f "$MODEL" ]; then
  echo "bench_tp: writing $MODEL" >&2
  PYTHONPATH=scripts/bench python3 - "$MODEL" "$LAYERS" "$HIDDEN" "$INTERMEDIATE" "$VOCAB" <<'PY'
import math, os, sys
from common import write_safetensors
path, layers, hidden, intermediate, vocab = sys.argv[1], *map(int, sys.argv[2:])
shapes = {"model.embed_tokens.weight": (vocab, hidden)}
for layer in range(layers):
    p = f"model.layers.{layer}."
    for name in ("q", "k", "v", "o"):
        shapes[p + f"self_attn.{name}_proj.weight"] = (hidden, hidden)
    shapes[p + "mlp.gate_proj.weight"] = (intermediate, hidden)
    shapes[p + "mlp.up_proj.weight"] = (intermediate, hidden)
    shapes[p + "mlp.down_proj.weight"] = (hidden, intermediate)
    shapes[p + "input_layernorm.weight"] = (hidden,)
    shapes[p + "post_attention_layernorm.weight"] = (hidden,)
shapes["model.norm.weight"] = (hidden,)
shapes["lm_head.weight"] = (vocab, hidden)
block = os.urandom(16 << 20)
tensors = {name: ("F16", list(shape), 2 * math.prod(shape)) for name, shape in shapes.items()}
write_safetensors(path, tensors, lambda dtype: block, metadata={"format": "pt"})
PY
fi

evict() {
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$MODEL"
}

warm() {
  cat "$MODEL" >/dev/null
}

DAEMON=
mount_fresh() {
  "$BIN" mount --foreground --no-passthrough --tp "$DEGREE" "$MODEL" "$MNT" 2>>"$WORK/daemon.log" &
  DAEMON=$!
  for _ in $(seq 600); do
    mountpoint -q "$MNT" && return 0
    sleep 0.05
  done
  echo "bench_tp: the mount did not come up" >&2
  exit 1
}

unmount() {
  "$BIN" unmount "$MNT"
  wait "$DAEMON" || true
}
trap 'mountpoint -q "$MNT" && fusermount3 -uz "$MNT"; true' EXIT

io_field() { awk -v field="$1:" '$1 == field { print $2 }' "/proc/$DAEMON/io"; }

# Reads with dd (1 MiB requests) or loads every tensor with the reference library (mmap).
read_file() {
  case $1 in
    dd) dd if="$2" of=/dev/null bs=1M status=none ;;
    safe_open) python3 -c '
import sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    for name in f.keys():
        f.get_tensor(name)' "$2" ;;
  esac
}

# One measurement of reading $2 with reader $1: prints "file-size source-bytes seconds".
measure() {
  if [ "$STATE" = cold ]; then evict; else warm; fi
  mount_fresh
  local before start end
  before=$(io_field read_bytes)
  start=$(date +%s.%N)
  read_file "$1" "$MNT/$2"
  end=$(date +%s.%N)
  echo "$(stat -c %s "$MNT/$2") $(( $(io_field read_bytes) - before ))" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
  unmount
}

echo "Rank $RANK of $DEGREE against the full model; $LAYERS layers, hidden $HIDDEN, intermediate $INTERMEDIATE," \
  "vocabulary $VOCAB (F16); the fastest of $REPEAT runs, each on a fresh mount."
echo
echo "| source | reader | file | bytes in file | source bytes read (disk) | time (s) | source bytes vs full | time vs full |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
ROW=0
for STATE in cold cached; do
  for reader in dd safe_open; do
    full_bytes= full_time=
    for file in model.safetensors "tp-$DEGREE/rank-$RANK/model.safetensors"; do
      best=
      for _ in $(seq "$REPEAT"); do
        result=$(measure "$reader" "$file")
        if [ -z "$best" ] || awk -v a="${result##* }" -v b="${best##* }" 'BEGIN { exit !(a < b) }'; then best=$result; fi
      done
      read -r size disk seconds <<<"$best"
      if [ -z "$full_bytes" ]; then full_bytes=$disk; full_time=$seconds; fi
      ratio=-
      if [ "$STATE" = cold ]; then ratio=$(awk -v a="$disk" -v b="$full_bytes" 'BEGIN { printf "%.3f", a / b }'); fi
      printf '| %s | %s | %s | %d | %d | %.3f | %s | %.3f |\n' "$STATE" "$reader" "$file" "$size" \
        "$disk" "$seconds" "$ratio" "$(awk -v a="$seconds" -v b="$full_time" 'BEGIN { print a / b }')"
      if [ "${BENCH_FORMAT:-}" = rows ] && [ "$file" != model.safetensors ]; then
        ROW=$((ROW + 1))
        printf '{"id": "T%d", "row": "Rank %d of %d reads its model.safetensors (%s, source %s)", "baseline": "reading the whole model.safetensors the same way", "goal": "-", "value": %s, "samples": %d, "tensorfs": "%.3f s, %.0f MB from the source", "reference": "%.3f s, %.0f MB from the source"}\n' \
          "$ROW" "$RANK" "$DEGREE" "$reader" "$STATE" "$(awk -v a="$full_time" -v b="$seconds" 'BEGIN { printf "%.3f", a / b }')" "$REPEAT" \
          "$seconds" "$(awk -v a="$disk" 'BEGIN { print a / 1e6 }')" "$full_time" "$(awk -v a="$full_bytes" 'BEGIN { print a / 1e6 }')"
      fi
    done
  done
done
