#!/usr/bin/env bash
# Record the built library's ABI as the baseline the abi suite checks
# against, after a deliberate change (docs/api-stability.md):
#   tests/abi/libwsrl.abi      abidw of libwsrl.so.0 (public types only)
#   tests/abi/libwsrl.symbols  exported symbols per version node
#   tests/abi/layout.tsv       every public struct's size and field offsets
# Usage: scripts/update-abi.sh [BUILD_DIR]   (default: $WSRL_BUILD_DIR or build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${WSRL_BUILD_DIR:-build}}
[ -d "$build" ] || { echo "no build directory $build: run scripts/test.sh first (or pass one)"; exit 1; }
ninja -C "$build" >/dev/null
lib=$build/lib/libwsrl.so.0
sh tests/abi/abi.sh dump "$lib" tests/abi/libwsrl.abi "$PWD/include/wsrl" "$PWD/$build/include/wsrl"
sh tests/abi/check-symbols.sh list "$lib" >tests/abi/libwsrl.symbols
"$build/tests/abi/layout-dump" >tests/abi/layout.tsv
git status --short -- tests/abi/libwsrl.abi tests/abi/libwsrl.symbols tests/abi/layout.tsv
echo "Review 'git diff tests/abi'. Only additions are compatible; anything else is an ABI"
echo "break: call it out in CHANGELOG.md (and, after 0.1.0, bump the soname)."
