#!/usr/bin/env bash
# Sweep runner for the paper's comparison (docs/results.md) on the example
# tasks: collect -> pretrain -> fine-tune with every method and seed.
#
#   examples/sweep.sh [options]
#     -j N              runs at once (default 2; one oneDNN thread each)
#     -o DIR            sweep folder (default runs/sweep)
#     -t "TASKS"        tasks (default "pendulum")
#     -d "DATASETS"     datasets from collect: medium, medium-replay, expert (default "medium")
#     -m "METHODS"      methods (default: all of wsrl nowarmup mixed append calql-online rlpd scratch)
#     -s "SEEDS"        seeds (default "0 1 2 3 4")
#     -c FILE           config applied to every run (repeatable; default examples/configs/scaled.conf);
#                       examples/configs/task-<task>.conf is added per task when present
#     -C FILE           config applied after the task file (repeatable), e.g. the reference sizes
#                       (examples/configs/reference.conf, reference-antmaze.conf) or reference-iql.conf
#     -W N              RLPD's warmup (steps of the freshly initialised policy; default: the config's
#                       finetune.warmup_steps, 5000 as the reference; 0 = no warmup)
#     -U N              update.utd of the baselines that keep their pretraining loss online
#                       (calql-online; default 1 as the reference, "cfg" = the config's)
#     -S N              critic.subsample of RLPD on the maze tasks (default 1 as the reference on
#                       antmaze, "cfg" = the config's)
#     -b BUILD          build folder holding examples/wsrl-train (default build)
#     -n                print the plan (make -n) without running
#     -- ARGS           extra wsrl-train arguments for every run (e.g. --set finetune.steps=20000)
#
# The runs form a dependency graph (a generated Makefile run with make -j N -k):
#   DIR/TASK/collect                        one collect per task (seed 0): datasets + normalisation.json
#   DIR/TASK/DATASET/pretrain-sSEED         pretrained.ckpt (agent.algorithm of the config, Cal-QL by default)
#   DIR/TASK/DATASET/METHOD-sSEED           the fine-tuning run (train.csv, eval.csv, summary.json)
# A run is finished when its summary.json exists: finished runs are skipped, so a
# sweep can be stopped (Ctrl-C) and restarted any time; an interrupted pretrain or
# finetune resumes from its last checkpoint (--resume; checkpoints every
# run.checkpoint_interval steps; collect too). Logs go to RUN/log.txt. Aggregate with
# examples/aggregate.py DIR.
#
# Methods (ALGORITHMS.md section 6):
#   wsrl          warmup finetune.warmup_steps with the pretrained policy, no offline data, SAC online
#   nowarmup      the same with finetune.warmup_steps = 0
#   mixed         keep the offline data: 50/50 batches (finetune.offline_data = mixed), no warmup
#   append        keep the offline data: copied into the online buffer, no warmup
#   calql-online  the pretraining loss kept online (finetune.online_algorithm = same: CQL, Cal-QL or
#                 IQL), mixed 50/50, UTD 1 with the pretraining batch (-U)
#   rlpd          RLPD: SAC from scratch with 50/50 offline batches (no pretraining) after a
#                 warmup of the initial policy (-W); critic.subsample 1 on the maze tasks (-S)
#   scratch       SAC from scratch, no offline data (finetune.warmup_steps initial-policy steps)
# The baselines as the reference runs them are the defaults; the library keys behind
# them are documented options (docs/config.md, docs/training.md), set with -- --set KEY=VALUE:
#   finetune.start_rule = reference   no update before the buffer holds more than
#                                     max(K, online rows of an update) (warmup: right after K)
#   finetune.mixed_layout = blocks    mixed batches: online rows first, then the dataset's, so
#                                     at UTD 4 two all-online and two all-offline minibatches
#                                     (interleaved: every minibatch mixed)
#   calql.online_completed_episodes = 1  Cal-QL kept online samples completed episodes only
# Earlier sweeps (docs/results.md before the reference rules) ran: -W 0 -U cfg -S cfg
# -- --set finetune.start_rule=warmup --set finetune.mixed_layout=interleaved
# --set calql.online_completed_episodes=0, and Cal-QL pretraining on locomotion
# (--set agent.algorithm=calql).
set -euo pipefail
# One brace group: bash reads it whole before running, so editing this file
# while a sweep runs cannot change the running sweep.
{
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
jobs=2 out=runs/sweep tasks=pendulum datasets=medium seeds="0 1 2 3 4" build=build dry=0
methods="wsrl nowarmup mixed append calql-online rlpd scratch"
configs=() late=() rlpd_warmup=cfg kept_utd=1 rlpd_subsample=1
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
while getopts "j:o:t:d:m:s:c:C:W:U:S:b:nh" opt; do
  case $opt in
    j) jobs=$OPTARG ;; o) out=$OPTARG ;; t) tasks=$OPTARG ;; d) datasets=$OPTARG ;; m) methods=$OPTARG ;;
    s) seeds=$OPTARG ;; c) configs+=("$(abspath "$OPTARG")") ;; C) late+=("$(abspath "$OPTARG")") ;;
    W) rlpd_warmup=$OPTARG ;; U) kept_utd=$OPTARG ;; S) rlpd_subsample=$OPTARG ;;
    b) build=$OPTARG ;; n) dry=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [-j N] [-o DIR] [-t TASKS] [-d DATASETS] [-m METHODS] [-s SEEDS] [-c FILE] [-C FILE] [-W N] [-U N] [-S N] [-b BUILD] [-n] [-- ARGS]" >&2
       exit 2 ;;
  esac
done
shift $((OPTIND - 1))
extra=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("$root/examples/configs/scaled.conf")
case $build in /*) ;; *) build=$root/$build ;; esac
W=$build/examples/wsrl-train
[ -x "$W" ] || { echo "sweep: $W not found: build first (meson setup build && ninja -C build)" >&2; exit 1; }
for m in $methods; do
  case $m in wsrl|nowarmup|mixed|append|calql-online|rlpd|scratch) ;;
    *) echo "sweep: unknown method '$m'" >&2; exit 2 ;; esac
done
for v in "$rlpd_warmup" "$kept_utd" "$rlpd_subsample"; do
  case $v in cfg|[0-9]|[0-9]*[0-9]) ;; *) echo "sweep: -W, -U and -S take a number or 'cfg' (got '$v')" >&2; exit 2 ;; esac
done
for d in $datasets; do
  case $d in medium|medium-replay|expert) ;; *) echo "sweep: unknown dataset '$d'" >&2; exit 2 ;; esac
done
command -v make > /dev/null || { echo "sweep: needs make (apt-get install make)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

q() { printf '%q ' "$@"; }
mk=$out/Makefile
{
  echo "# Generated by examples/sweep.sh on $(date -u +%FT%TZ); rerun the script rather than editing."
  echo "W := $(q "$W")"
  echo ".DELETE_ON_ERROR:"
  echo "all:"
  for task in $tasks; do
    cfg=()
    for c in "${configs[@]}"; do cfg+=(--config "$c"); done
    [ -f "$root/examples/configs/task-$task.conf" ] && cfg+=(--config "$root/examples/configs/task-$task.conf")
    for c in "${late[@]}"; do cfg+=(--config "$c"); done
    # The reference's baselines (the header): RLPD's warmup and maze subsample, UTD 1 kept online.
    rlpd=() kept=()
    [ "$rlpd_warmup" = cfg ] || rlpd+=(--set "finetune.warmup_steps=$rlpd_warmup")
    case $task in antmaze|pointmaze) [ "$rlpd_subsample" = cfg ] || rlpd+=(--set "critic.subsample=$rlpd_subsample") ;; esac
    [ "$kept_utd" = cfg ] || kept+=(--set "update.utd=$kept_utd")
    col=$out/$task/collect
    base=(--set "task=$task" "${cfg[@]}" --set "norm.file=$col/normalisation.json")
    echo "$col/summary.json:"
    echo "	@mkdir -p $col && echo '[start] $task collect' && \\"
    echo "	\$(W) collect $(q "${base[@]}" --seed 0 --out "$col" --resume "${extra[@]}") > $col/log.txt 2>&1 && echo '[done]  $task collect'"
    for ds in $datasets; do
      data=$col/$ds.hdf5
      for seed in $seeds; do
        pre=$out/$task/$ds/pretrain-s$seed
        echo "$pre/summary.json: $col/summary.json"
        echo "	@mkdir -p $pre && echo '[start] $task $ds pretrain s$seed' && \\"
        echo "	\$(W) pretrain $(q "${base[@]}" --seed "$seed" --dataset "$data" --out "$pre" --resume "${extra[@]}") > $pre/log.txt 2>&1 && echo '[done]  $task $ds pretrain s$seed'"
        for m in $methods; do
          run=$out/$task/$ds/$m-s$seed
          ck=(--checkpoint "$pre/pretrained.ckpt")
          dep=$pre/summary.json
          case $m in
            wsrl) args=("${ck[@]}") ;;
            nowarmup) args=("${ck[@]}" --set finetune.warmup_steps=0) ;;
            mixed) args=("${ck[@]}" --set finetune.warmup_steps=0 --set finetune.offline_data=mixed --set finetune.offline_ratio=0.5 --dataset "$data") ;;
            append) args=("${ck[@]}" --set finetune.warmup_steps=0 --set finetune.offline_data=append --dataset "$data") ;;
            calql-online) args=("${ck[@]}" --set finetune.warmup_steps=0 --set finetune.online_algorithm=same --set finetune.offline_data=mixed --set finetune.offline_ratio=0.5 "${kept[@]}" --dataset "$data") ;;
            rlpd) args=(--set agent.algorithm=sac "${rlpd[@]}" --set finetune.offline_data=mixed --set finetune.offline_ratio=0.5 --dataset "$data"); dep=$col/summary.json ;;
            scratch) args=(--set agent.algorithm=sac); dep=$col/summary.json ;;
          esac
          echo "all: $run/summary.json"
          echo "$run/summary.json: $dep"
          echo "	@mkdir -p $run && echo '[start] $task $ds $m s$seed' && \\"
          echo "	\$(W) finetune $(q "${base[@]}" --seed "$seed" "${args[@]}" --out "$run" --resume "${extra[@]}") > $run/log.txt 2>&1 && echo '[done]  $task $ds $m s$seed'"
        done
      done
    done
  done
} > "$mk"
echo "sweep: $out (plan: $mk), $jobs at once"
if [ $dry = 1 ]; then
  make -f "$mk" -n all | grep -c 'wsrl-train' | sed 's/^/runs to do: /'
  exit 0
fi
# One oneDNN/OpenMP thread per run: -j N runs use N cores.
export OMP_NUM_THREADS=1
start=$(date +%s)
status=0
make -f "$mk" -j "$jobs" -k all || status=$?
echo "sweep: finished in $(( $(date +%s) - start )) s with status $status; aggregate with: /usr/bin/python3 $root/examples/aggregate.py $out"
exit $status
}
