#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ with swiftc (SwiftPM has no fuzz targets) and runs each
# for SECONDS (default 600), keeping its corpus in .build-fuzz/corpus/ between runs. Inputs in
# Fuzz/regressions/TARGET/ replay first. A crash, a hang (over 10 s on one input) or an allocation
# over 256 MB stops the run with the input saved in .build-fuzz/ and exits non-zero.
#
#   scripts/fuzz.sh                 long session, 10 minutes per target
#   scripts/fuzz.sh 20              short session (scripts/test.sh runs 30 seconds)
#   scripts/fuzz.sh 3600 namespace  one target (header or namespace)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift $(($# > 0))
targets=("$@")
((${#targets[@]})) || targets=(header namespace)
build=.build-fuzz
flags=(-sanitize=fuzzer,address -O -g -parse-as-library -I "$build" -L "$build")
# The Swift runtime's backtracer and AddressSanitizer both want the crash; let ASan report it.
export SWIFT_BACKTRACE=enable=no

library() { # MODULE SOURCE_DIR
  local sources
  mapfile -t sources < <(find "Sources/$1" -name '*.swift' | sort)
  swiftc -emit-library -static -emit-module -module-name "$1" -enable-testing "${flags[@]}" \
    -emit-module-path "$build/$1.swiftmodule" -o "$build/lib$1.a" "${sources[@]}"
}

mkdir -p "$build"
echo "fuzz: building" >&2
# swift-system comes from SwiftPM's own build (its sources need SwiftPM's settings); it is not
# instrumented, which costs the fuzzers nothing: they explore tensorfs's code.
swift build -q --target SystemPackage
packages=$(swift build --show-bin-path)
ar rcs "$build/libSystemPackage.a" "$packages"/SystemPackage.build/*.o "$packages"/CSystem.build/*.o
flags+=(-I "$packages/Modules" -Xcc -fmodule-map-file=.build/checkouts/swift-system/Sources/CSystem/include/module.modulemap)
# The linker warns about every sanitizer symbol it cannot export; the warnings mean nothing here.
{
  library SafetensorsFormat
  library ByteSources
  library TensorFS
  swiftc "${flags[@]}" -lSafetensorsFormat Fuzz/HeaderFuzzer.swift -o "$build/header-fuzzer"
  swiftc "${flags[@]}" -lTensorFS -lByteSources -lSystemPackage -lSafetensorsFormat Fuzz/NamespaceFuzzer.swift -o "$build/namespace-fuzzer"
} 2> >(grep -v "ld.gold: warning: Cannot export local symbol" >&2)

rm -rf "$build/seeds"
python3 Fuzz/seeds.py "$build/seeds"

run() { # TARGET MAX_LEN EXTRA...
  local target=$1 max_len=$2
  shift 2
  local corpus="$build/corpus/$target" regressions="Fuzz/regressions/$target"
  mkdir -p "$corpus"
  if compgen -G "$regressions/*" >/dev/null; then
    "$build/$target-fuzzer" "$regressions"/* 2>"$build/$target-regressions.log" \
      || { cat "$build/$target-regressions.log" >&2; echo "fuzz: $target: a regression input fails" >&2; exit 1; }
  fi
  echo "fuzz: $target for ${seconds}s" >&2
  "$build/$target-fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -malloc_limit_mb=256 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$build/$target-" "$@" \
    "$corpus" "$build/seeds/$target" 2>"$build/$target.log" \
    || { tail -60 "$build/$target.log" >&2; echo "fuzz: $target found a failure; the input is in $build/" >&2; exit 1; }
  grep -E "^stat::number_of_executed_units|^Done" "$build/$target.log" | sed "s/^/fuzz: $target: /" >&2
}

for target in "${targets[@]}"; do
  case "$target" in
    header) run header 65536 -dict="$build/seeds/header.dict" ;;
    namespace) run namespace 16384 ;;
    *) echo "fuzz: unknown target $target (header or namespace)" >&2; exit 2 ;;
  esac
done
