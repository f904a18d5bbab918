#!/usr/bin/env bash
# Collect a task's expert until its evaluation plateaus (docs/results.md,
# "Planned reruns", step 1), in 100K-step chunks of `wsrl-train collect`:
#
#   examples/collect-expert.sh [-b BUILD] [-o DIR] [-c FILE]... TASK [-- ARGS]
#     -b BUILD   build folder holding examples/wsrl-train (default build)
#     -o DIR     run folder (default runs/experts/TASK)
#     -c FILE    config (repeatable; default examples/configs/scaled.conf, then
#                examples/configs/task-TASK.conf when present)
#     -- ARGS    extra wsrl-train arguments
#
# Plateau: at each chunk end c >= 200K the best evaluation so far (eval.csv
# return_mean, 10 episodes every 10K steps) must exceed the best up to
# c - 100K by 5 %. Two chunks in a row that do not (no 5 % gain over 200K
# steps) end the collect: it is resumed with collect.steps at the step
# reached, which writes the datasets; else the collect's budget of 2M steps
# ends it. Verdicts go to DIR/judged
# ("STEP rising|flat"), progress to stdout. Stop it any time (Ctrl-C) and
# rerun the same command to go on. The criterion assumes positive returns
# (the locomotion tasks).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=build out= confs=()
while getopts "b:o:c:" o; do
  case $o in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    c) confs+=("$OPTARG") ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
t=${1:?usage: collect-expert.sh [-b BUILD] [-o DIR] [-c FILE]... TASK [-- ARGS]}
shift
[[ ${1:-} == -- ]] && shift
out=${out:-runs/experts/$t}
bin=${WSRL_TRAIN:-$build/examples/wsrl-train}
if [[ ${#confs[@]} -eq 0 ]]; then
  confs=("$here/configs/scaled.conf")
  [[ -f "$here/configs/task-$t.conf" ]] && confs+=("$here/configs/task-$t.conf")
fi
args=()
for c in "${confs[@]}"; do args+=(--config "$c"); done
args+=(--set task="$t" --set eval.interval=10000 --set eval.episodes=10 --set run.checkpoint_interval=10000
       --set agent.threads=1 --out "$out" --quiet "$@")
CHUNK=100000 FIRST=200000 LAST=2000000

# csvmax FILE COLUMN MAXSTEP: the largest step, or the best return_mean, at steps <= MAXSTEP
csvmax() {
  python3 - "$@" <<'PY'
import csv, sys
f, c, lim = sys.argv[1], sys.argv[2], int(sys.argv[3])
v = None
try:
    for r in csv.DictReader(open(f)):
        if int(float(r["step"])) <= lim:
            x = float(r[c])
            v = x if v is None else max(v, x)
except FileNotFoundError:
    pass
print(0 if v is None and c == "step" else "-inf" if v is None else int(v) if c == "step" else v)
PY
}
collect() {
  "$bin" collect "${args[@]}" "$@"
  local rc=$?
  [[ $rc == 0 || $rc == 3 ]] || { echo "collect-expert: wsrl-train collect failed ($rc)" >&2; exit 1; }
}

while [[ ! -f "$out/expert.hdf5" ]]; do
  step=$(csvmax "$out/train.csv" step 999999999)
  c=$((step / CHUNK * CHUNK))
  if ((c >= FIRST)) && ! grep -q "^$c " "$out/judged" 2>/dev/null; then
    now=$(csvmax "$out/eval.csv" return_mean "$c") before=$(csvmax "$out/eval.csv" return_mean $((c - CHUNK)))
    v=flat
    python3 -c "import sys; sys.exit(0 if $now >= 1.05 * $before else 1)" && v=rising
    echo "$t: at $c the best is $now (up to $((c - CHUNK)): $before): $v"
    echo "$c $v" >> "$out/judged"
  fi
  if (($(tail -n 2 "$out/judged" 2>/dev/null | grep -c ' flat$') >= 2)); then
    echo "$t: plateau at $c; writing the datasets (step $step)"
    collect --resume --set collect.steps="$step"
    [[ -f "$out/expert.hdf5" ]] || { echo "collect-expert: no datasets written" >&2; exit 1; }
    break
  fi
  stop=$(((c < CHUNK ? FIRST : c + CHUNK) + 1)) # + 1: the chunk's last evaluation runs first
  resume=()
  [[ -f "$out/session.ckpt" ]] && resume=(--resume)
  echo "$t: steps $step to $stop"
  collect "${resume[@]}" --set collect.steps=$LAST --set run.stop_at=$stop
done
echo "$t: datasets in $out"
