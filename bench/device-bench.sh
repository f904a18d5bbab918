#!/usr/bin/env bash
# device-bench.sh: bench-nn at 1, 2, 4, 8 and 16 threads, fp32 and bf16, on
# a many-core machine, in about 100 s on 16 cores.
#
#   bash bench/device-bench.sh [build-dir...]     (default: build)
#
# With several build folders (e.g. the previous main and this one) each
# thread count runs them one after the other, in the order given, so that
# a change is measured against its base on the same machine in one call;
# the summary comes once per folder (with its REV file's contents if it
# has one).
#
# Needs bench/bench-nn in the build folder (meson setup -Dbench=true).
# Environment:
#   WSRL_BENCH_THREADS   thread counts (default "1 2 4 8 16"; counts above
#                        the logical CPUs are skipped)
#   WSRL_BENCH_SECONDS   seconds per figure (default 0.75; bench-nn spends
#                        about 19 x that per thread count)
#   WSRL_BENCH_SHARE=1   also run bench/matmul-share.sh on each build at the
#                        same thread counts (the matmuls' share of the
#                        team's time, from oneDNN's log; about 10 s more per
#                        thread count and build) and bench/serial-share.sh
#                        (the serial part of an env-step, at 2 or more
#                        threads: about 15 s more per thread count and build)
# Each thread count runs in its own process with OMP_NUM_THREADS set to it
# and threads pinned one per core (OMP_PROC_BIND=close, OMP_PLACES=cores).
# Prints the CPU model, oneDNN's ISA line, then every `name value unit` line
# of bench-nn (its names carry the thread count, `_tN`), then a summary table
# and the scaling against 1 thread as further `name value unit` lines.
set -euo pipefail

builds=("$@")
[[ ${#builds[@]} -gt 0 ]] || builds=(build)
for build in "${builds[@]}"; do
  if [[ ! -x "$build/bench/bench-nn" ]]; then
    echo "device-bench: $build/bench/bench-nn not found; build with: meson setup $build -Dbench=true && ninja -C $build" >&2
    exit 2
  fi
done
bench="${builds[0]}/bench/bench-nn"
threads=${WSRL_BENCH_THREADS:-"1 2 4 8 16"}
export WSRL_BENCH_SECONDS=${WSRL_BENCH_SECONDS:-0.75}
export OMP_PROC_BIND=close OMP_PLACES=cores
cores=$(lscpu -p=CORE,SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l)
[[ "$cores" -gt 0 ]] || cores=$(nproc)

start=$(date +%s)
echo "device-bench: $(date -u +%FT%TZ), $(git -C "$(dirname "$0")" describe --always --dirty 2>/dev/null || echo unknown)"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1); $(nproc) logical CPUs, $cores cores"
lscpu | grep -o -w -E 'amx_bf16|amx_tile|avx512_bf16|avx512f' | sort -u | tr '\n' ' ' | sed 's/^/cpu flags: /;s/ $/\n/'
# oneDNN's own ISA line (first lines of its verbose log, one tiny run).
DNNL_VERBOSE=1 OMP_NUM_THREADS=1 WSRL_BENCH_ENV_ONLY=fp32 WSRL_BENCH_SECONDS=0.01 "$bench" 1 2>&1 |
  grep -m 3 -E 'info,(cpu|prim_template|oneDNN)' || true

outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT
label() { # a build folder and, when it has one, its REV file
  if [[ -f "$1/REV" ]]; then echo "$1 ($(head -n 1 "$1/REV"))"; else echo "$1"; fi
}
for t in $threads; do
  if [[ "$t" -gt "$(nproc)" ]]; then
    echo "device-bench: skipping $t threads (only $(nproc) logical CPUs)"
    continue
  fi
  for i in "${!builds[@]}"; do
    echo
    echo "== $t thread(s), $(label "${builds[$i]}")"
    # bench-nn's own lines carry _t$t; the summary lines only once.
    OMP_NUM_THREADS=$t "${builds[$i]}/bench/bench-nn" "$t" | tee -a "$outdir/$i" | grep -E '_t[0-9]+ ' || {
      echo "device-bench: bench-nn of ${builds[$i]} failed at $t threads" >&2
      exit 1
    }
  done
done

for i in "${!builds[@]}"; do
echo
echo "== summary (env-steps/s, % of bound, bf16/fp32): $(label "${builds[$i]}")"
awk '
  function v(name) { return (name in val) ? val[name] : "-" }
  NF == 3 && $1 ~ /_t[0-9]+$/ { val[$1] = $2; t = $1; sub(/.*_t/, "", t); seen[t] = 1 }
  END {
    printf "%-8s %10s %8s %10s %8s %8s %12s %12s\n", "threads", "fp32", "%bound", "bf16", "%bound", "x", "fp32_kernel", "bf16_kernel"
    n = 0
    for (t in seen) ts[++n] = t + 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ts[j] < ts[i]) { x = ts[i]; ts[i] = ts[j]; ts[j] = x }
    for (i = 1; i <= n; i++) {
      t = ts[i]
      printf "%-8s %10s %8s %10s %8s %8s %12s %12s\n", t, v("env_steps_t" t), v("env_steps_of_bound_t" t),
             v("env_steps_bf16_t" t), v("env_steps_bf16_of_bound_t" t), v("env_steps_bf16_fp32_ratio_t" t),
             v("kernel_fp32_t" t), v("kernel_bf16_t" t)
    }
    for (i = 1; i <= n; i++) {
      t = ts[i]
      if (("env_steps_t1" in val) && t != 1) {
        printf "device_env_steps_scaling_t%d %.2f x\n", t, val["env_steps_t" t] / val["env_steps_t1"]
        printf "device_agent_env_steps_scaling_t%d %.2f x\n", t, val["agent_env_steps_t" t] / val["agent_env_steps_t1"]
        if (("env_steps_bf16_t1" in val) && ("env_steps_bf16_t" t in val))
          printf "device_env_steps_bf16_scaling_t%d %.2f x\n", t, val["env_steps_bf16_t" t] / val["env_steps_bf16_t1"]
      }
    }
  }' "$outdir/$i"
done
if [[ "${WSRL_BENCH_SHARE:-0}" == 1 ]]; then
  for build in "${builds[@]}"; do
    echo
    echo "== matmul share: $(label "$build")"
    # shellcheck disable=SC2086
    bash "$(dirname "$0")/matmul-share.sh" "$build" $threads
    echo
    echo "== serial share: $(label "$build")"
    # shellcheck disable=SC2086
    WSRL_SHARE_SITES=1 bash "$(dirname "$0")/serial-share.sh" "$build" $(for t in $threads; do [[ $t -gt 1 ]] && echo "$t"; done) ||
      echo "serial-share: exit $?"
  done
fi
echo "device_bench_runtime $(($(date +%s) - start)) s"
