#!/usr/bin/env bash
# Build libwsrl and run every test suite (unit, abi, gradcheck, learning, examples).
# Usage: scripts/test.sh [extra meson test args, e.g. --suite unit]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${WSRL_BUILD_DIR:-build}
opts=(-Dhdf5=enabled -Dexamples=enabled -Dtests=true -Dbench=true)
[ "${CI:-}" = true ] && opts+=(-Dwerror=true)
if [ -d "$build" ]; then
  meson setup --reconfigure "$build" "${opts[@]}"
else
  meson setup "$build" "${opts[@]}"
fi
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
# One plain closing line for CI readers.
python3 - "$build/meson-logs/testlog.json" <<'PY' || true
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
PY
exit $status
