#!/usr/bin/env bash
# The long fuzz campaign (docs/reliability.md): builds libwsrl with clang,
# libFuzzer coverage and sanitizers (default ASan+UBSan) in build-fuzz/,
# then fuzzes each harness in turn from the seeds the library writes, with
# its dictionary and the CRC-resealing mutator, keeping a corpus under
# fuzz-corpus/.
# Usage: scripts/fuzz.sh [RUNS per harness, default 1000000] [harness...]
# WSRL_FUZZ_SECONDS caps each harness's time too (0: no cap, the default);
# WSRL_FUZZ_PREBUILT=1 uses the harnesses already in the build folder
# (no meson, no ninja: for a machine without the toolchain);
# WSRL_FUZZ_TRIAGE=0 skips the HDF5 triage (below);
# WSRL_FUZZ_JOBS runs HDF5's fork-mode jobs in parallel (default 1; the
# executions of all jobs count towards RUNS);
# WSRL_FUZZ_SANITIZE picks the sanitizers (default address,undefined;
# "undefined" makes fuzz-hdf5 about 4x faster: ASan maps every large block
# libhdf5 allocates; the others run about as fast with ASan) and
# WSRL_FUZZ_BUILD the build folder (default build-fuzz, or
# build-fuzz-<sanitizers> for other sanitizers). Scratch files go to
# /dev/shm when it exists (each input is written and saved there: on a disk
# every save's fsync costs more than the parse), else $TMPDIR.
# Findings: crash-*/leak-*/oom-*/timeout-* files in fuzz-findings/<harness>/
# (with libFuzzer's whole output in libfuzzer.log);
# replay one with build-fuzz/tests/fuzz/fuzz-<harness> FILE. HDF5 runs with
# -fork=1: libhdf5 crashes on crafted files (docs/reliability.md), and each
# saved crash is triaged by the isolating driver (inside libhdf5 or not).
# libhdf5 can corrupt glibc's heap so that a job's crash handler deadlocks in
# malloc (without ASan, whose allocator is its own); a watchdog kills a job
# that outlives its time budget, which the fork loop counts as a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(replay checkpoint session config policy hdf5)
san=${WSRL_FUZZ_SANITIZE:-address,undefined}
if [ "$san" = address,undefined ]; then b=${WSRL_FUZZ_BUILD:-build-fuzz}; else b=${WSRL_FUZZ_BUILD:-build-fuzz-${san//,/-}}; fi
seconds=${WSRL_FUZZ_SECONDS:-0}
jobs=${WSRL_FUZZ_JOBS:-1}
if [ -n "${WSRL_FUZZ_PREBUILT:-}" ]; then
  :  # harnesses built elsewhere (e.g. carried to a many-core machine)
elif [ ! -d "$b" ]; then
  CC=clang meson setup "$b" -Dhdf5=enabled -Dexamples=disabled -Dbench=false -Db_lundef=false \
    -Db_sanitize="$san" -Dc_args=-fno-sanitize-recover=all -Dlibfuzzer=true
fi
[ -n "${WSRL_FUZZ_PREBUILT:-}" ] || ninja -C "$b" $(for h in "${harnesses[@]}"; do echo tests/fuzz/fuzz-$h tests/fuzz/fuzz-$h-libfuzzer; done)
b=$(cd "$b" && pwd)
export OMP_NUM_THREADS=1

# Kill the fork-mode jobs of libFuzzer process $1 that outlive their own
# -max_total_time by 30 s (hung in their crash handler: they no longer
# check the clock).
watchdog() {
  local p max age name
  name=$(basename "$2" | cut -c1-15)
  while kill -0 "$1" 2>/dev/null; do
    sleep 10
    for p in $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
      [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$name" ] || continue
      # (a job may end at any moment: nothing here may fail under set -e)
      max=$({ tr '\0' '\n' < /proc/"$p"/cmdline; } 2>/dev/null | sed -n 's/^-max_total_time=//p' | tail -n 1) || true
      age=$(ps -o etimes= -p "$p" 2>/dev/null | tr -d ' ') || true
      if [ -n "$max" ] && [ -n "$age" ] && [ "$age" -gt $((max + 30)) ]; then
        kill -9 "$p" 2>/dev/null && echo "  watchdog: killed job $p, hung after ${age}s of ${max}s"
      fi
    done
  done
}
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
for h in "${harnesses[@]}"; do
  corpus=fuzz-corpus/$h findings=fuzz-findings/$h
  mkdir -p "$corpus" "$findings"
  lf=$b/tests/fuzz/fuzz-$h-libfuzzer driver=$b/tests/fuzz/fuzz-$h dict=$PWD/tests/fuzz/fuzz-$h.dict
  echo "== $h: $runs runs"
  start=$(date +%s)
  if [ "$h" = hdf5 ]; then
    "$driver" --write-seeds "$corpus" >/dev/null
    # Without ASan an abort is mostly glibc finding its heap corrupted
    # (by libhdf5): the job's handler would deadlock and save nothing, so
    # it dies at once instead (counted as a crash, input not saved).
    abrt=1
    case "$san" in *address*) ;; *) abrt=0 ;; esac
    (cd "$findings" && ASAN_OPTIONS=allocator_may_return_null=1 exec "$lf" "$OLDPWD/$corpus" -dict="$dict" \
      -runs="$runs" -max_total_time="$seconds" -fork="$jobs" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -timeout=20 -handle_abrt="$abrt" > libfuzzer.log 2>&1) &
    lfpid=$!
    watchdog "$lfpid" "$lf" &
    wait "$lfpid" || true
    wait
    grep -E "^#[0-9]+" "$findings/libfuzzer.log" | tail -1
    # Triage: every saved input through the isolating driver (WSRL_FUZZ_TRIAGE=0
    # leaves it for later, e.g. on the machine the findings are copied to).
    [ "${WSRL_FUZZ_TRIAGE:-1}" = 0 ] || for f in "$findings"/crash-* "$findings"/oom-* "$findings"/timeout-*; do
      [ -e "$f" ] || continue
      rc=0
      ASAN_OPTIONS=allocator_may_return_null=1 timeout 120 "$driver" "$f" >/dev/null 2>&1 || rc=$?
      # A smashed stack hides libhdf5's frames from the driver's frame walk:
      # replay those under ASan (build-fuzz/tests/fuzz/fuzz-hdf5-libfuzzer FILE).
      case $rc in
        0) echo "  $f: no crash outside libhdf5" ;;
        124) echo "  $f: the triage hung (heap corrupted before the crash?): replay it with ASan" ;;
        *) echo "  $f: no libhdf5 frame found: a libwsrl finding unless ASan shows libhdf5's" ;;
      esac
    done
  else
    (cd "$findings" && bash "$OLDPWD/tests/fuzz/run-libfuzzer.sh" "$lf" "$driver" "$dict" "$seconds" \
      "$OLDPWD/$corpus" "$runs" > libfuzzer.log 2>&1) || echo "  $h: FINDING (see $findings)"
    grep -E "^#[0-9]+ *DONE|stat::|SUMMARY|ERROR" "$findings/libfuzzer.log" || true
  fi
  echo "== $h: $(( $(date +%s) - start )) s, corpus $(ls "$corpus" | wc -l) files, findings $(ls "$findings" | grep -vc '^libfuzzer.log$')"
done
