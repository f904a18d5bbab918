#!/usr/bin/env bash
# meson test 'sweep-plan' (suite examples): examples/sweep.sh plans the
# baselines as the reference runs them by default (RLPD after the config's
# warmup with critic.subsample 1 on the maze tasks, the kept-online losses at
# UTD 1) and as the options ask otherwise; -C configs come after the task file.
# Usage: test-sweep.sh path/to/sweep.sh BUILD_DIR
set -euo pipefail
S=${1:?usage: test-sweep.sh SWEEP BUILD}
B=${2:?usage: test-sweep.sh SWEEP BUILD}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsrl-sweep-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# plan NAME SWEEP-ARGS...: the dry run's Makefile
plan() { local n=$1; shift; "$S" -n -b "$B" -o "$tmp/$n" -s 0 "$@" > /dev/null; }
# cmd NAME TASK METHOD: the run's wsrl-train command line
cmd() { grep -F '$(W) finetune' "$tmp/$1/Makefile" | grep -F "/$2/medium/$3-s0 " | head -1; }
has() { [[ "$1" == *"$2"* ]] || fail "$3: expected '$2' in: $1"; }
lacks() { [[ "$1" != *"$2"* ]] || fail "$3: unexpected '$2' in: $1"; }

plan ref -t "pointmaze hopper" -m "rlpd calql-online"
r=$(cmd ref pointmaze rlpd); has "$r" "--set critic.subsample=1" "RLPD on a maze task"
lacks "$r" "finetune.warmup_steps" "RLPD keeps the config's warmup"
r=$(cmd ref hopper rlpd); lacks "$r" "critic.subsample" "RLPD on hopper"
r=$(cmd ref hopper calql-online); has "$r" "--set update.utd=1" "kept online"

plan old -t pointmaze -m "rlpd calql-online" -W 0 -U cfg -S cfg
r=$(cmd old pointmaze rlpd); has "$r" "--set finetune.warmup_steps=0" "-W 0"; lacks "$r" "critic.subsample" "-S cfg"
r=$(cmd old pointmaze calql-online); lacks "$r" "update.utd" "-U cfg"

conf=$(cd "$(dirname "$S")" && pwd)/configs
plan late -t hopper -m wsrl -C "$conf/reference.conf"
r=$(cmd late hopper wsrl)
[[ "$r" == *task-hopper.conf*reference.conf* ]] || fail "-C: reference.conf must come after the task file: $r"

"$S" -n -b "$B" -o "$tmp/bad" -W x > /dev/null 2>&1 && fail "-W x accepted"
echo "sweep plans OK"
