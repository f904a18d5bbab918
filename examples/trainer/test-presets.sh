#!/usr/bin/env bash
# meson test 'trainer-presets' (suite examples): the reference presets of
# examples/configs load and run (a tiny pendulum dataset stands in for the
# tasks), set what they promise, and the kept-online baselines start updating
# at the transition the reference's start rule gives.
# Usage: test-presets.sh path/to/wsrl-train path/to/examples/configs
set -euo pipefail
W=${1:?usage: test-presets.sh WSRL_TRAIN CONFIGS}
C=${2:?usage: test-presets.sh WSRL_TRAIN CONFIGS}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsrl-presets-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMP_NUM_THREADS=1
quiet=(--set eval.episodes=1 --set run.checkpoint_interval=0 --set agent.threads=1)
run() { # name, wsrl-train arguments...
  local name=$1; shift
  "$W" "$@" "${quiet[@]}" --out "$tmp/$name" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; fail "$name exited with $?"; }
}
has() { grep -qx "$2" "$tmp/$1/config.txt" || fail "$1: config.txt lacks '$2'"; }
updates_at() { grep "^$2,online," "$tmp/$1/train.csv" | cut -d, -f4; }

small=(--set critic.hidden=16,16 --set actor.hidden=16,16 --set update.batch_size=16 --set cql.n_actions=2 --set td.max_target_actions=2)
run collect collect --task pendulum --config "$C/scaled.conf" --config "$C/task-pendulum.conf" "${small[@]}" \
  --set collect.steps=600 --set collect.start_steps=200 --set collect.dataset_steps=400 --set eval.interval=300
data=$tmp/collect/medium.hdf5
pre=(pretrain --dataset "$data" --config "$C/scaled.conf" --config "$C/task-pendulum.conf")
on=(--set task=pendulum)

echo "== locomotion: CQL, alpha 5"
run loco "${pre[@]}" --config "$C/task-hopper.conf" "${on[@]}" --set pretrain.steps=50
has loco "agent.algorithm = cql"; has loco "cql.alpha = 5"; has loco "cql.autotune_alpha = false"

echo "== antmaze: 4 critic layers, uniform log-std, CQL alpha autotuned to a gap of 0.8"
run antmaze "${pre[@]}" --config "$C/task-antmaze.conf" "${on[@]}" --set pretrain.steps=50
has antmaze "agent.algorithm = calql"; has antmaze "critic.hidden = 64,64,64,64"
has antmaze "actor.std_parameterization = uniform"; has antmaze "cql.autotune_alpha = true"
has antmaze "cql.target_action_gap = 0.8"
run antmaze-ref "${pre[@]}" --config "$C/task-antmaze.conf" --config "$C/reference-antmaze.conf" "${on[@]}" \
  --set pretrain.steps=1
has antmaze-ref "critic.hidden = 256,256,256,256"; has antmaze-ref "update.batch_size = 256"

echo "== the reference IQL"
run iql "${pre[@]}" --config "$C/reference-iql.conf" "${on[@]}" --set pretrain.steps=50
for kv in "agent.algorithm = iql" "critic.ensemble_size = 2" "critic.layer_norm = false" "actor.layer_norm = false" \
          "actor.tanh_squash = false" "actor.std_parameterization = uniform" "optim.actor_lr = 0.0003" \
          "actor.kernel_init = var_scaling" "critic.kernel_init = var_scaling"; do
  has iql "$kv"
done

echo "== kept online at UTD 1 (sweep.sh calql-online), the reference's start rule"
ft=(finetune "${on[@]}" --set finetune.online_algorithm=same --set finetune.warmup_steps=0 --set update.utd=1
    --set finetune.steps=400 --set eval.interval=0 --set log.interval=100)
# IQL, mixed 50/50 (blocks): 64 rows, 32 online: the first update at transition 33
run iql-online "${ft[@]}" --checkpoint "$tmp/iql/pretrained.ckpt" --set finetune.offline_data=mixed --dataset "$data"
[ "$(updates_at iql-online 400)" = 368 ] || fail "IQL kept online: $(updates_at iql-online 400) updates at step 400, expected 368"
# Cal-QL, no offline data: max(64 rows, episode length 200): the first update at transition 201
run calql-online "${ft[@]}" --checkpoint "$tmp/antmaze/pretrained.ckpt"
[ "$(updates_at calql-online 200)" = 0 ] || fail "Cal-QL kept online updated before its first episode ended"
[ "$(updates_at calql-online 400)" = 200 ] || fail "Cal-QL kept online: $(updates_at calql-online 400) updates at step 400, expected 200"
echo "presets OK"
