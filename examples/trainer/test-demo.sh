#!/usr/bin/env bash
# meson test 'trainer-demo' (suite examples): run `wsrl-train demo --smoke`
# and check every file it must write, then eval, resume and CLI errors.
# Usage: test-demo.sh path/to/wsrl-train
set -euo pipefail
W=${1:?usage: test-demo.sh WSRL_TRAIN}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsrl-train-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rows() { tail -n +2 "$1" | wc -l; }
col() { head -1 "$1" | tr ',' '\n' | grep -qx "$2" || fail "$1 has no column $2"; }

echo "== demo --smoke"
"$W" demo --smoke --out "$tmp/demo" > "$tmp/demo.out" 2> "$tmp/demo.err" || { rc=$?;
  cat "$tmp/demo.err" >&2; fail "demo exited with $rc"; }
cat "$tmp/demo.out"
d=$tmp/demo
for f in config.txt command.txt summary.txt collect/medium.hdf5 collect/medium-replay.hdf5 collect/expert.hdf5 \
         collect/normalisation.json collect/medium.ckpt collect/expert.ckpt collect/train.csv collect/eval.csv \
         pretrain/pretrained.ckpt pretrain/train.csv pretrain/eval.csv pretrain/summary.json \
         finetune-wsrl/final.ckpt finetune-wsrl/train.csv finetune-wsrl/eval.csv finetune-wsrl/summary.json \
         finetune-nowarmup/final.ckpt finetune-nowarmup/train.csv finetune-nowarmup/eval.csv; do
  [ -s "$d/$f" ] || fail "missing or empty: $f"
done
for h in medium medium-replay expert; do
  head -c 8 "$d/collect/$h.hdf5" | od -An -c | grep -q 'H   D   F' || fail "$h.hdf5 is not HDF5"
done
grep -q '"random_return"' "$d/collect/normalisation.json" || fail "normalisation.json: no random_return"
grep -q '"expert_return"' "$d/collect/normalisation.json" || fail "normalisation.json: no expert_return"
# smoke budgets: 800 fine-tuning steps logged every 100, evaluations every 400 (+ the switch)
for r in finetune-wsrl finetune-nowarmup; do
  [ "$(rows "$d/$r/train.csv")" -eq 8 ] || fail "$r/train.csv: $(rows "$d/$r/train.csv") rows, expected 8"
  [ "$(rows "$d/$r/eval.csv")" -eq 3 ] || fail "$r/eval.csv: $(rows "$d/$r/eval.csv") rows, expected 3"
  for c in step phase q_mean critic_loss actor_loss temperature episode_return updates; do col "$d/$r/train.csv" $c; done
  for c in step phase return_mean return_std normalized; do col "$d/$r/eval.csv" $c; done
done
[ "$(rows "$d/pretrain/train.csv")" -eq 3 ] || fail "pretrain/train.csv: expected 3 rows"
[ "$(rows "$d/pretrain/eval.csv")" -eq 2 ] || fail "pretrain/eval.csv: expected 2 rows"
# WSRL: 400 warmup steps without updates, then one update per step
grep -q '^300,warmup,300,0,' "$d/finetune-wsrl/train.csv" || fail "WSRL: no update-free warmup row at step 300"
grep -q '^400,online,400,0,' "$d/finetune-wsrl/train.csv" || fail "WSRL: updates before the end of the warmup"
grep -q '^800,online,800,400,' "$d/finetune-wsrl/train.csv" || fail "WSRL: expected 400 updates at step 800"
grep -q ',warmup,' "$d/finetune-nowarmup/train.csv" && fail "no-warmup run logged warmup rows"
# no warmup, the reference's start rule: 4 x 32 = 128 transitions before the first update
grep -q '^800,online,800,672,' "$d/finetune-nowarmup/train.csv" || fail "no warmup: expected 672 updates at step 800"
grep -q 'finetune WSRL' "$tmp/demo.out" || fail "no summary table"
grep -q '^What to look at: the dip' "$tmp/demo.out" || fail "the summary does not say what to look at"
if command -v gnuplot > /dev/null; then
  [ -s "$d/compare.png" ] || fail "gnuplot is installed but compare.png is missing"
fi

echo "== eval"
"$W" eval "$d/finetune-wsrl/final.ckpt" --episodes 2 > "$tmp/eval.out" || fail "eval exited with $?"
grep -q 'return' "$tmp/eval.out" || fail "eval printed no return"

echo "== finetune, stopped and resumed"
ft=(finetune --checkpoint "$d/pretrain/pretrained.ckpt" --set finetune.steps=1600 --set eval.interval=400
    --set run.checkpoint_interval=400 --set log.interval=100 --set eval.episodes=2 --out "$tmp/ft" --quiet)
rc=0; "$W" "${ft[@]}" --set run.stop_at=500 > /dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "finetune stopped by run.stop_at exited with $rc, expected 3"
[ -s "$tmp/ft/session.ckpt" ] || fail "no session.ckpt after the stop"
[ ! -e "$tmp/ft/final.ckpt" ] || fail "final.ckpt written by a stopped run"
[ "$(tail -1 "$tmp/ft/train.csv" | cut -d, -f1)" = 500 ] || fail "stopped run did not stop at step 500"
# A log that cannot be cut back stops the resume with a message; the session stays.
mkdir "$tmp/ft/eval.csv.tmp"
rc=0; "$W" "${ft[@]}" --resume > /dev/null 2> "$tmp/ft.err" || rc=$?
[ $rc -eq 1 ] || fail "resume with an unwritable log exited with $rc, expected 1"
grep -q 'eval.csv: .*cannot cut the log back' "$tmp/ft.err" || fail "resume with an unwritable log said: $(cat "$tmp/ft.err")"
[ -s "$tmp/ft/session.ckpt" ] || fail "session.ckpt lost by the failed resume"
rmdir "$tmp/ft/eval.csv.tmp"
"$W" "${ft[@]}" --resume --set run.stop_at=1100 > /dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "second stop exited with $rc"
"$W" "${ft[@]}" --resume > /dev/null || fail "resumed finetune exited with $?"
[ -s "$tmp/ft/final.ckpt" ] || fail "resumed run wrote no final.ckpt"
[ ! -e "$tmp/ft/session.ckpt" ] || fail "session.ckpt left after the run finished"
[ "$(rows "$tmp/ft/train.csv")" -eq 16 ] || fail "resumed train.csv: $(rows "$tmp/ft/train.csv") rows, expected 16"
[ "$(tail -1 "$tmp/ft/train.csv" | cut -d, -f1)" = 1600 ] || fail "resumed run did not reach step 1600"
[ "$(cut -d, -f1 "$tmp/ft/train.csv" | sort | uniq -d | wc -l)" -eq 0 ] || fail "duplicate steps in train.csv"

echo "== pretrain, stopped and resumed"
pt=(pretrain --dataset "$d/collect/medium.hdf5" --config "$d/pretrain/config.txt" --set pretrain.steps=600
    --set pretrain.eval_interval=200 --set log.interval=100 --out "$tmp/pt" --quiet)
rc=0; "$W" "${pt[@]}" --set run.stop_at=300 > /dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "pretrain stopped by run.stop_at exited with $rc, expected 3"
"$W" "${pt[@]}" --resume > /dev/null || fail "resumed pretrain exited with $?"
[ "$(cut -d, -f1 "$tmp/pt/train.csv" | tr '\n' ' ')" = "step 100 200 300 400 500 600 " ] || fail "resumed pretrain: steps $(cut -d, -f1 "$tmp/pt/train.csv" | tr '\n' ' ')"
[ "$(rows "$tmp/pt/eval.csv")" -eq 3 ] || fail "resumed pretrain: $(rows "$tmp/pt/eval.csv") evaluations, expected 3"

echo "== a dataset in the environment's action units is refused, not clipped"
py=""
for p in /usr/bin/python3 python3; do "$p" -c 'import h5py, numpy' 2>/dev/null && { py=$p; break; }; done
if [ -n "$py" ]; then
  cp "$d/collect/medium.hdf5" "$tmp/envunits.hdf5"
  "$py" -c 'import sys, h5py; h5py.File(sys.argv[1], "r+")["actions"][3, 0] = 2.0' "$tmp/envunits.hdf5"
  rc5=0; "$W" "${pt[@]}" --set pretrain.dataset="$tmp/envunits.hdf5" --out "$tmp/envunits" > /dev/null 2> "$tmp/err5" || rc5=$?
  [ $rc5 -eq 1 ] && grep -q 'envunits.hdf5' "$tmp/err5" && grep -q 'row 3' "$tmp/err5" \
    || fail "env-unit dataset: rc $rc5: $(cat "$tmp/err5")"
else
  echo "SKIP: python3 with h5py and numpy not found (scripts/deps.sh installs them)"
fi

echo "== collect with reward shaping (antmaze)"
# collect itself fails when the medium-replay rewards do not come back to 0 or 1 without the shaping
"$W" collect --task antmaze --set collect.shaping=1 --steps 400 --set collect.start_steps=200 \
  --set eval.interval=200 --set eval.episodes=1 --set collect.dataset_steps=200 --set task.max_episode_steps=100 \
  --set critic.hidden=16,16 --set actor.hidden=16,16 --set agent.threads=1 --out "$tmp/shaped" \
  > /dev/null 2> "$tmp/shaped.err" || { rc=$?; cat "$tmp/shaped.err" >&2; fail "collect with shaping exited with $rc"; }
for h in medium medium-replay expert; do [ -s "$tmp/shaped/$h.hdf5" ] || fail "shaped collect: no $h.hdf5"; done
grep -q '^collect.shaping = 1' "$tmp/shaped/config.txt" || fail "shaped collect: config.txt lacks collect.shaping"
# the progress form (gamma 1) on pointmaze: its rewards must come back to 0 or 1 as well
"$W" collect --task pointmaze --set collect.shaping=1 --set collect.shaping_gamma=1 --steps 400 \
  --set collect.start_steps=200 --set eval.interval=200 --set eval.episodes=1 --set collect.dataset_steps=200 \
  --set critic.hidden=16,16 --set actor.hidden=16,16 --set agent.threads=1 --out "$tmp/shaped1" \
  > /dev/null 2> "$tmp/shaped1.err" || { rc=$?; cat "$tmp/shaped1.err" >&2; fail "collect with shaping_gamma=1 exited with $rc"; }
[ -s "$tmp/shaped1/medium-replay.hdf5" ] || fail "collect with shaping_gamma=1: no medium-replay.hdf5"

echo "== collect, stopped and resumed"
co=(collect --task pendulum --steps 1200 --set collect.start_steps=200 --set eval.interval=200 --set eval.episodes=1
    --set collect.dataset_steps=200 --set run.checkpoint_interval=400 --set log.interval=100
    --set critic.hidden=16,16 --set actor.hidden=16,16 --set agent.threads=1 --out "$tmp/co" --quiet)
rc=0; "$W" "${co[@]}" --set run.stop_at=500 > /dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "collect stopped by run.stop_at exited with $rc, expected 3"
[ -s "$tmp/co/session.ckpt" ] && [ -s "$tmp/co/snapshots.csv" ] || fail "no session.ckpt or snapshots.csv after the stop"
[ ! -e "$tmp/co/medium.hdf5" ] || fail "a stopped collect wrote datasets"
# a record newer than the session (as after a crash between the two saves) must be dropped:
# were this empty snapshot with its huge return kept, it would be the expert and fail to load
echo "600,1e9" >> "$tmp/co/snapshots.csv"; : > "$tmp/co/snapshot-000000600.ckpt"
rc=0; "$W" "${co[@]}" --resume --set run.stop_at=900 > /dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "second collect stop exited with $rc"
"$W" "${co[@]}" --resume > "$tmp/co.out" 2>&1 || { rc=$?; cat "$tmp/co.out" >&2; fail "resumed collect exited with $rc"; }
for h in medium medium-replay expert; do [ -s "$tmp/co/$h.hdf5" ] || fail "resumed collect: no $h.hdf5"; done
[ ! -e "$tmp/co/session.ckpt" ] && [ ! -e "$tmp/co/snapshots.csv" ] || fail "session.ckpt or snapshots.csv left after collect"
ls "$tmp/co" | grep -q '^snapshot-' && fail "snapshot files left after collect"
[ "$(tail -1 "$tmp/co/train.csv" | cut -d, -f1)" = 1200 ] || fail "resumed collect did not reach step 1200"
for c in train eval; do
  [ "$(cut -d, -f1 "$tmp/co/$c.csv" | sort | uniq -d | wc -l)" -eq 0 ] || fail "duplicate steps in collect $c.csv"
done
[ "$(rows "$tmp/co/eval.csv")" -ge 6 ] || fail "resumed collect: $(rows "$tmp/co/eval.csv") evaluations, expected 6+"

echo "== command-line errors"
set +e
"$W" finetune --set critic.hiden=64 > /dev/null 2> "$tmp/err1"; rc1=$?
"$W" demo --bogus > /dev/null 2> "$tmp/err2"; rc2=$?
"$W" pretrain --set pretrain.steps=many > /dev/null 2> "$tmp/err3"; rc3=$?
"$W" pretrain --set pretrain.dataset=/nonexistent.hdf5 --out "$tmp/bad" > /dev/null 2> "$tmp/err4"; rc4=$?
"$W" nosuchcommand > /dev/null 2>&1; rc5=$?
"$W" collect --task hopper --set collect.shaping=1 --steps 10 --out "$tmp/bad2" > /dev/null 2> "$tmp/err6"; rc6=$?
"$W" collect --task pointmaze --set collect.shaping=0 --set collect.shaping_gamma=2 --steps 10 --out "$tmp/bad3" \
  > /dev/null 2> "$tmp/err7"; rc7=$?
set -e
[ $rc1 -eq 2 ] && grep -q 'critic.hiden' "$tmp/err1" || fail "unknown key: rc $rc1: $(cat "$tmp/err1")"
[ $rc2 -eq 2 ] && grep -q -- '--bogus' "$tmp/err2" || fail "unknown flag: rc $rc2: $(cat "$tmp/err2")"
[ $rc3 -eq 2 ] && grep -q 'pretrain.steps' "$tmp/err3" || fail "bad value: rc $rc3: $(cat "$tmp/err3")"
[ $rc4 -eq 1 ] && grep -q 'nonexistent.hdf5' "$tmp/err4" || fail "missing dataset: rc $rc4: $(cat "$tmp/err4")"
[ $rc5 -eq 2 ] || fail "unknown command: rc $rc5"
[ $rc6 -eq 2 ] && grep -q 'no shaping potential' "$tmp/err6" || fail "shaping without potential: rc $rc6: $(cat "$tmp/err6")"
[ $rc7 -eq 2 ] && grep -q 'collect.shaping_gamma' "$tmp/err7" || fail "bad shaping_gamma: rc $rc7: $(cat "$tmp/err7")"
"$W" demo --help > "$tmp/help" || fail "demo --help exited with $?"
grep -q 'usage: wsrl-train demo' "$tmp/help" || fail "demo --help: no usage line"
echo "OK"
