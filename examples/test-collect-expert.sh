#!/usr/bin/env bash
# meson test 'collect-expert' (suite examples): examples/collect-expert.sh
# stops a collect only after two 100K-step chunks in a row without a 5 %
# gain of the best evaluation, resumes every chunk and writes the datasets
# at the step reached. A fake wsrl-train stands in (WSRL_TRAIN): it logs
# train.csv every 500 steps and eval.csv every 10K with returns from
# FAKE_RETURN (a Python expression of `step`), stops at run.stop_at like
# the real one (exit 3), writes the datasets when resumed with collect.steps
# at its step or when it reaches collect.steps, and refuses a non-resumed
# run into a used folder.
# Usage: test-collect-expert.sh path/to/collect-expert.sh
set -euo pipefail
C=${1:?usage: test-collect-expert.sh COLLECT-EXPERT}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsrl-expert-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$tmp/fake" <<'PY'
#!/usr/bin/env python3
import os, sys
a = sys.argv[2:]
out = a[a.index("--out") + 1]
sets = dict(a[i + 1].split("=", 1) for i in range(len(a)) if a[i] == "--set")
os.makedirs(out, exist_ok=True)
tr, ev = os.path.join(out, "train.csv"), os.path.join(out, "eval.csv")
step = 0
if os.path.exists(tr):
    if "--resume" not in a:
        sys.exit("fake: run folder in use without --resume")
    step = int(open(tr).read().split()[-1].split(",")[0])
with open(os.path.join(out, "calls"), "a") as f:
    f.write(" ".join(a) + "\n")
target = int(sets["collect.steps"])
if "--resume" in a and target == step:
    open(os.path.join(out, "expert.hdf5"), "w").close()
    sys.exit(0)
stop = int(sets.get("run.stop_at", "0")) or target
end = min(target, (stop + 499) // 500 * 500)
new = not os.path.exists(tr)
with open(tr, "a") as t, open(ev, "a") as e:
    if new:
        t.write("step,phase\n")
        e.write("step,phase,return_mean\n")
    for s in range(step + 500, end + 1, 500):
        if s % 10000 == 0:
            e.write("%d,online,%g\n" % (s, eval(os.environ["FAKE_RETURN"], {"step": s})))
        t.write("%d,online\n" % s)
open(os.path.join(out, "session.ckpt"), "w").close()
if end < target:
    sys.exit(3)
open(os.path.join(out, "expert.hdf5"), "w").close()  # the budget reached: the datasets
PY
chmod +x "$tmp/fake"
export WSRL_TRAIN="$tmp/fake"
# run NAME RETURN: the driver on a fresh folder; its verdicts
run() {
  FAKE_RETURN=$2 "$C" -o "$tmp/$1" -c /dev/null hopper > "$tmp/$1.log" || fail "$1: exit $?: $(cat "$tmp/$1.log")"
  [[ -f "$tmp/$1/expert.hdf5" ]] || fail "$1: no datasets"
  tr '\n' ' ' < "$tmp/$1/judged"
}
# Rises until 350K, flat after: two flat chunks (500K, 600K) end it at 600.5K.
j=$(run rise "min(step, 350000) / 1000")
[[ $j == "200000 rising 300000 rising 400000 rising 500000 flat 600000 flat " ]] || fail "rise: $j"
grep -q -- "--resume.*collect.steps=600500" "$tmp/rise/calls" || fail "rise: datasets not written at 600500"
# One flat chunk (200K), then a jump: not a plateau; flat again from 300K.
j=$(run jump "100 if step <= 250000 else 300")
[[ $j == "200000 flat 300000 rising 400000 flat 500000 flat " ]] || fail "jump: $j"
# Every chunk rising 10 %: the collect's own 2M budget ends it (and writes
# the datasets) in the chunk after 1.9M.
j=$(run cap "1.1 ** (step / 100000)")
[[ $(wc -w <<< "$j") == 36 && $j == *"1900000 rising " ]] || fail "cap: $j"
tail -n 1 "$tmp/cap/calls" | grep -q -- "collect.steps=2000000 --set run.stop_at=2000001" || fail "cap: last call"
# Done: a rerun changes nothing.
n=$(wc -l < "$tmp/rise/calls")
FAKE_RETURN=0 "$C" -o "$tmp/rise" -c /dev/null hopper > /dev/null || fail "rerun"
[[ $(wc -l < "$tmp/rise/calls") == "$n" ]] || fail "rerun: wsrl-train called again"
echo "collect-expert OK"
