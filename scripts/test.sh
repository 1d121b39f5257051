#!/usr/bin/env bash
# Installs every dependency, builds, and runs the tests.
#
#   scripts/test.sh [PYTEST ARGS...]          everything, as CI runs it: Swift unit tests, a short
#                                             fuzzing session of the header, index and namespace
#                                             code, then end-to-end tests that mount for real and
#                                             compare every byte with the reference safetensors
#                                             library
#   scripts/test.sh --fast [PYTEST ARGS...]   for daily work: the Swift unit tests and the
#                                             end-to-end tests without the scale, stress and
#                                             fuzzing parts (no fuzzing session; tests marked
#                                             `slow` left out), on parallel workers (pytest-xdist;
#                                             E2E_WORKERS, default 4)
set -euo pipefail
cd "$(dirname "$0")/.."

fast=false
if [ "${1:-}" = --fast ]; then
  fast=true
  shift
fi

scripts/setup.sh
swift build
swift test
export TENSORFS_BIN="$(swift build --show-bin-path)/tensorfs"
if $fast; then
  python3 -m pytest -q -n "${E2E_WORKERS:-4}" -m "not slow" Tests/e2e "$@"
else
  scripts/fuzz.sh 30
  python3 -m pytest -q Tests/e2e "$@"
fi
