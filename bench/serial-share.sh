#!/usr/bin/env bash
# serial-share.sh: how much of an env-step runs on one thread while the
# rest of the team waits (serial code between parallel regions: the
# learner's losses and targets, input copies, what is not split), per
# thread count and precision, for bench-nn's env-steps (d) and the public
# agent's updates (f). That time is the floor no thread count lowers: at
# 16 threads an env-step of 4 ms (250 env-steps/s) has room for little.
#
#   bash bench/serial-share.sh [build-dir] [threads...]   (default: build 2)
#
# Runs `WSRL_BENCH_ENV_ONLY=<precision> WSRL_BENCH_ENV_STEPS=n bench-nn T`
# (with WSRL_BENCH_AGENT=1 for the agent) under build/bench/serial-shim.so,
# which times the calling thread inside GNU OpenMP teams: once with n = 2 to
# count the teams of start-up and the first env-steps, then with
# n = 2 + STEPS counting from there. Per env-step:
#   serial_step_ms   wall time per env-step
#   serial_ms        the part outside every team
#   serial_share     serial_ms / serial_step_ms
#   serial_wait_ms   thread-time inside the teams not spent on their work,
#                    per env-step: threads waiting for the slowest one
#                    (uneven tasks, more threads than tasks) and the fork
#                    and join, summed over the T threads
#   serial_wait_share  serial_wait_ms / (T x the time inside teams)
#   serial_teams     OpenMP teams forked per env-step (each a fork and join)
# At 1 thread nothing forks and everything is serial: use 2 or more.
# Needs libgomp (other OpenMP runtimes enter elsewhere: reported, exit 77).
# Environment: WSRL_SHARE_STEPS (default 20), WSRL_SHARE_PRECISIONS
# (default "fp32 bf16"), WSRL_SHARE_SITES=1 (also the 8 region functions,
# each with the caller of the function that forked it, with the most
# waiting per run: calls, wall s inside, thread-s waiting,
# named by addr2line where it is installed, else object and offset for
# addr2line -f -e on a machine that has it; in a stripped library such as
# libdnnl the name is the nearest exported symbol: read it as "oneDNN").
set -euo pipefail

build=${1:-build}
shift || true
threads=("$@")
[[ ${#threads[@]} -gt 0 ]] || threads=(2)
bench="$build/bench/bench-nn"
shim="$(cd "$build" && pwd)/bench/serial-shim.so"
for f in "$bench" "$shim"; do
  [[ -e "$f" ]] || { echo "serial-share: $f not found (meson setup $build -Dbench=true)" >&2; exit 2; }
done
steps=${WSRL_SHARE_STEPS:-20}
export OMP_PROC_BIND=${OMP_PROC_BIND:-close} OMP_PLACES=${OMP_PLACES:-cores}

sites=${WSRL_SHARE_SITES:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: the shim's line (span inside teams); its site lines in $tmp/sites.
run() {
  local t=$1 prec=$2 agent=$3 n=$4 skip=$5
  OMP_NUM_THREADS=$t LD_PRELOAD="$shim" SERIAL_SHIM_SKIP=$skip SERIAL_SHIM_SITES=$sites WSRL_BENCH_AGENT=$agent \
    WSRL_BENCH_ENV_ONLY=$prec WSRL_BENCH_ENV_STEPS=$n "$bench" "$t" 2>"$tmp/err" >/dev/null ||
    { echo "serial-share: bench-nn failed ($prec, $t threads)" >&2; cat "$tmp/err" >&2; exit 1; }
  grep '^serial-shim-site:' "$tmp/err" > "$tmp/sites" || true
  grep '^serial-shim:' "$tmp/err"
}

# The 8 sites with the most waiting of the latest run.
show_sites() {
  sort -t' ' -k9,9 -gr "$tmp/sites" | head -8 | while read -r _ obj off _ calls _ inside _ wait _ cobj coff; do
    name="$obj $off < $cobj $coff"
    if command -v addr2line >/dev/null; then
      name="$(addr2line -f -e "$obj" "$off" 2>/dev/null | head -1) < $(addr2line -f -e "$cobj" "$coff" 2>/dev/null | head -1)"
    fi
    printf "  %s: %-60s calls %6s inside %8.4f s waiting %8.4f thread-s\n" "$1" "$name" "$calls" "$inside" "$wait"
  done
}

if ! grep -qa WSRL_BENCH_ENV_STEPS "$bench"; then
  echo "serial-share: $bench has no WSRL_BENCH_ENV_STEPS mode (older build): skipped"
  exit 77
fi

for prec in ${WSRL_SHARE_PRECISIONS:-fp32 bf16}; do
  for t in "${threads[@]}"; do
    if [[ "$t" -gt "$(nproc)" ]]; then
      echo "serial-share: skipping $t threads (only $(nproc) logical CPUs)"
      continue
    fi
    for agent in 0 1; do
      what=$([[ $agent == 1 ]] && echo agent || echo env)
      if [[ $agent == 1 ]] && ! grep -qa WSRL_BENCH_AGENT "$bench"; then
        echo "serial-share: $bench has no WSRL_BENCH_AGENT mode (older build): agent skipped"
        continue
      fi
      k=$(run "$t" "$prec" $agent 2 0 | awk '{print $7}')
      if [[ "$t" -gt 1 && "$k" == 0 ]]; then
        echo "serial-share: no GOMP_parallel team at $t threads: not GNU OpenMP, skipped"
        exit 77
      fi
      run "$t" "$prec" $agent $((2 + steps)) "$k" | awk -v n="$steps" -v w="$what" -v p="$prec" -v t="$t" -v k="$k" '{
        step = $3 * 1000 / n; serial = ($3 - $5) * 1000 / n
        printf "serial_step_ms_%s_%s_t%d %.3f ms\n", w, p, t, step
        printf "serial_ms_%s_%s_t%d %.3f ms\n", w, p, t, serial
        printf "serial_share_%s_%s_t%d %.1f %%\n", w, p, t, (step > 0 ? 100 * serial / step : 0)
        wait = (t * $5 - $9) * 1000 / n
        printf "serial_wait_ms_%s_%s_t%d %.3f ms\n", w, p, t, wait
        printf "serial_wait_share_%s_%s_t%d %.1f %%\n", w, p, t, ($5 > 0 ? 100 * wait / (t * $5 * 1000 / n) : 0)
        printf "serial_teams_%s_%s_t%d %.1f 1/env-step\n", w, p, t, ($7 - k) / n
      }'
      [[ "$sites" == 0 ]] || show_sites "$what $prec t$t"
    done
  done
done
