#!/usr/bin/env bash
# Measures libcurl (multi interface) against swift-server/async-http-client for what remote
# sources do: range GETs of a 1 GiB object served by nginx on 127.0.0.1. Prints each client's
# 4 KiB request latency (p50, p99) and its throughput with 8 MiB parts, 1, 4 and 8 in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
WORK=.cache/bench-http
mkdir -p "$WORK"
echo "bench: building the two clients (async-http-client takes minutes)" >&2
swift build -c release --package-path Benchmarks/HTTPClients --scratch-path .build-http-clients >/dev/null
BIN=.build-http-clients/release
PYTHONPATH=Tests/e2e BIN="$BIN" WORK="$WORK" python3 - <<'PY'
import os, pathlib, subprocess
from remote_servers import Nginx
work = pathlib.Path(os.environ["WORK"]).resolve()
subprocess.run(["rm", "-rf", str(work / "nginx")], check=True)
server = Nginx(work / "nginx")
try:
    size = 1 << 30
    with open(server.root / "object.bin", "wb") as out:
        out.write(os.urandom(size))
    for client in ("curl-ranges", "ahc-ranges", "curl-ranges", "ahc-ranges"):
        subprocess.run([f"{os.environ['BIN']}/{client}", server.url("object.bin"), str(size)], check=True)
finally:
    server.stop()
PY
