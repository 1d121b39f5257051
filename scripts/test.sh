#!/usr/bin/env bash
# Installs every dependency, builds, and runs all tests: Swift unit tests, a short fuzzing session
# of the header, index and namespace code, then end-to-end tests that mount for real and compare
# every byte with the reference safetensors library.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build
swift test
scripts/fuzz.sh 30
TENSORFS_BIN="$(swift build --show-bin-path)/tensorfs" python3 -m pytest -q Tests/e2e "$@"
