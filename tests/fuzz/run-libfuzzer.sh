#!/usr/bin/env bash
# Fuzz one libFuzzer harness from the seeds the library generates.
# Usage: run-libfuzzer.sh LIBFUZZER_BIN DRIVER_BIN DICT SECONDS [CORPUS_DIR [RUNS]]
# SECONDS 0 with RUNS: stop after RUNS executions instead. Without
# CORPUS_DIR a temporary corpus is used and removed. A finding leaves
# crash-*/leak-*/timeout-*/oom-* files in the current directory and a
# non-zero exit.
set -euo pipefail
lf=$1 driver=$2 dict=$3 seconds=$4 corpus=${5:-} runs=${6:--1}
tmp=""
if [ -z "$corpus" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsrl-fuzz-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  corpus=$tmp
fi
mkdir -p "$corpus"
"$driver" --write-seeds "$corpus"
limit=()
[ "$seconds" != 0 ] && limit+=(-max_total_time="$seconds")
# 2 GiB RSS and 20 s per input: a file must not make the library build a
# huge network or allocate without bound (both are findings).
"$lf" "$corpus" -dict="$dict" -runs="$runs" "${limit[@]}" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
  -timeout=20 -print_final_stats=1 -detect_leaks=1
