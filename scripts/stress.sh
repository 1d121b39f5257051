#!/usr/bin/env bash
# The long runs the test suite leaves out, against a release build: files at full size limits
# (1M tensors, a 100 MB header holding a 50M-dimension shape) and a long soak of concurrent reads
# that must leave the daemon's memory flat. Takes several minutes.
#
#   scripts/stress.sh [SOAK_READS]     (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product tensorfs
export TENSORFS_BIN="$(swift build -c release --show-bin-path)/tensorfs"
TENSORFS_LIMITS=full python3 -m pytest -q --durations=0 Tests/e2e/test_limits.py
TENSORFS_SOAK_READS="${1:-200000}" python3 -m pytest -q --durations=0 Tests/e2e/test_concurrency.py
