#!/usr/bin/env bash
# matmul-share.sh: how much of an env-step's thread time the oneDNN matmuls
# take, per thread count and precision, from oneDNN's own timing log.
#
#   bash bench/matmul-share.sh [build-dir] [threads...]   (default: build 1 2)
#
# Runs `WSRL_BENCH_ENV_ONLY=<precision> WSRL_BENCH_ENV_STEPS=n bench-nn T`
# twice (n = 2 and n = 2 + STEPS) with DNNL_VERBOSE=1 and keeps the
# difference, so start-up and primitive creation drop out. Per env-step:
#   wall_ms            the wall time (from the two runs' elapsed times)
#   matmul_cpu_ms      the summed execution times of every matmul as
#                      oneDNN logs them: an ensemble member's matmul runs on
#                      one thread and counts once; a matmul the team splits
#                      (the actor's) also counts once, for T busy threads
#   matmul_share       matmul_cpu_ms / (wall_ms x T): roughly the fraction
#                      of the team's time inside matmuls (an underestimate
#                      by the actor's split matmuls); the rest is
#                      element-wise work, serial code and idle threads
# then the five costliest matmul shapes (ms per env-step, calls, kernel).
# The verbose log itself slows each call by a few microseconds: the shares
# are for comparing thread counts and versions, not absolute figures.
# Environment: WSRL_SHARE_STEPS (default 6), WSRL_SHARE_PRECISIONS
# (default "fp32 bf16").
set -euo pipefail

build=${1:-build}
shift || true
threads=("$@")
[[ ${#threads[@]} -gt 0 ]] || threads=(1 2)
bench="$build/bench/bench-nn"
[[ -x "$bench" ]] || { echo "matmul-share: $bench not found (meson setup $build -Dbench=true)" >&2; exit 2; }
steps=${WSRL_SHARE_STEPS:-6}
export OMP_PROC_BIND=${OMP_PROC_BIND:-close} OMP_PLACES=${OMP_PLACES:-cores}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: its verbose log into $tmp/$1.log, its wall seconds printed.
run() {
  local name=$1 t=$2 prec=$3 n=$4 t0 t1
  t0=$(date +%s.%N)
  OMP_NUM_THREADS=$t DNNL_VERBOSE=1 WSRL_BENCH_ENV_ONLY=$prec WSRL_BENCH_ENV_STEPS=$n "$bench" "$t" \
    > "$tmp/$name.log" 2>&1 || { echo "matmul-share: bench-nn failed ($prec, $t threads)" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{printf "%.6f", $2 - $1}'
}

for prec in ${WSRL_SHARE_PRECISIONS:-fp32 bf16}; do
  for t in "${threads[@]}"; do
    if [[ "$t" -gt "$(nproc)" ]]; then
      echo "matmul-share: skipping $t threads (only $(nproc) logical CPUs)"
      continue
    fi
    wa=$(run a "$t" "$prec" 2)
    wz=$(run z "$t" "$prec" $((2 + steps)))
    # exec lines: onednn_verbose,exec,cpu,matmul,<impl>,...,<shape>,<ms>
    awk -F, -v t="$t" -v p="$prec" -v n="$steps" -v wa="$wa" -v wz="$wz" '
      FNR == 1 { run++ }
      $2 == "exec" && $4 == "matmul" {
        k = $5 " " $(NF - 1)
        if (run == 1) { ta += $NF; ca[k]++; sa[k] += $NF } else { tz += $NF; cz[k]++; sz[k] += $NF }
      }
      END {
        wall = (wz - wa) * 1000 / n
        mm = (tz - ta) / n
        printf "matmul_share_wall_ms_%s_t%d %.2f ms\n", p, t, wall
        printf "matmul_share_cpu_ms_%s_t%d %.2f ms\n", p, t, mm
        share = wall > 0 ? 100 * mm / (wall * t) : 0
        printf "matmul_share_%s_t%d %.1f %%\n", p, t, share
        for (k in sz) { d[k] = (sz[k] - sa[k]) / n; c[k] = (cz[k] - ca[k]) / n }
        for (i = 0; i < 5; i++) {
          best = ""
          for (k in d) if (!(k in shown) && (best == "" || d[k] > d[best])) best = k
          if (best == "") break
          shown[best] = 1
          printf "  %s t%d: %7.3f ms/env-step %6.1f calls  %s\n", p, t, d[best], c[best], best
        }
      }' "$tmp/a.log" "$tmp/z.log"
  done
done
