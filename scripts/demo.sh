#!/usr/bin/env bash
# The main job: install dependencies, build, and run the most complete
# end-to-end program available.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${WSRL_BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build" -Dhdf5=enabled -Dexamples=enabled
ninja -C "$build"
if [ -x "$build/examples/wsrl-train" ]; then
  exec "$build/examples/wsrl-train" demo "$@"
elif [ -x "$build/examples/wsrl-tasks-check" ]; then
  exec "$build/examples/wsrl-tasks-check"
else
  exec "$build/tools/gen-config-doc"
fi
