#!/usr/bin/env bash
# The long fuzz campaign (docs/reliability.md): builds libwsrl with clang,
# libFuzzer coverage, ASan and UBSan in build-fuzz/, then fuzzes each
# harness in turn from the seeds the library writes, with its dictionary
# and the CRC-resealing mutator, keeping a corpus under fuzz-corpus/.
# Usage: scripts/fuzz.sh [RUNS per harness, default 1000000] [harness...]
# WSRL_FUZZ_SECONDS caps each harness's time too (0: no cap, the default);
# WSRL_FUZZ_BUILD names the build folder (default build-fuzz).
# Findings: crash-*/leak-*/oom-*/timeout-* files in fuzz-findings/<harness>/;
# replay one with build-fuzz/tests/fuzz/fuzz-<harness> FILE. HDF5 runs with
# -fork=1: libhdf5 crashes on crafted files (docs/reliability.md), and each
# saved crash is triaged by the isolating driver (inside libhdf5 or not).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(replay checkpoint session config hdf5)
b=${WSRL_FUZZ_BUILD:-build-fuzz}
seconds=${WSRL_FUZZ_SECONDS:-0}
if [ ! -d "$b" ]; then
  CC=clang meson setup "$b" -Dhdf5=enabled -Dexamples=disabled -Dbench=false -Db_lundef=false \
    -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all -Dlibfuzzer=true
fi
ninja -C "$b"
b=$(cd "$b" && pwd)
export OMP_NUM_THREADS=1
for h in "${harnesses[@]}"; do
  corpus=fuzz-corpus/$h findings=fuzz-findings/$h
  mkdir -p "$corpus" "$findings"
  lf=$b/tests/fuzz/fuzz-$h-libfuzzer driver=$b/tests/fuzz/fuzz-$h dict=$PWD/tests/fuzz/fuzz-$h.dict
  echo "== $h: $runs runs"
  start=$(date +%s)
  if [ "$h" = hdf5 ]; then
    "$driver" --write-seeds "$corpus" >/dev/null
    (cd "$findings" && ASAN_OPTIONS=allocator_may_return_null=1 "$lf" "$OLDPWD/$corpus" -dict="$dict" \
      -runs="$runs" -max_total_time="$seconds" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -timeout=20 2>&1 | tail -5) || true
    # Triage: every saved input through the isolating driver.
    for f in "$findings"/crash-* "$findings"/oom-* "$findings"/timeout-*; do
      [ -e "$f" ] || continue
      ASAN_OPTIONS=allocator_may_return_null=1 "$driver" "$f" >/dev/null 2>&1 \
        && echo "  $f: inside libhdf5" || echo "  $f: OUTSIDE libhdf5 (a libwsrl finding)"
    done
  else
    (cd "$findings" && bash "$OLDPWD/tests/fuzz/run-libfuzzer.sh" "$lf" "$driver" "$dict" "$seconds" \
      "$OLDPWD/$corpus" "$runs" 2>&1 | grep -E "^#[0-9]+ *DONE|stat::|SUMMARY|ERROR" ) || echo "  $h: FINDING (see $findings)"
  fi
  echo "== $h: $(( $(date +%s) - start )) s"
done
