#!/bin/sh
# The exported symbols per version node only grow: every `NODE symbol` line
# of the committed list (tests/abi/libwsrl.symbols) is exported by the
# library under that node, and new symbols go to the newest node.
#   check-symbols.sh list LIB             print LIB's list (scripts/update-abi.sh)
#   check-symbols.sh check LIB COMMITTED  fail on a removal or move, or when
#                                         additions are not recorded yet
#   check-symbols.sh self-test COMMITTED  prove `check` calls each mutation right
set -eu
export LC_ALL=C

list() {
  nm -D --defined-only "$1" | awk '$2 != "A" && $3 ~ /@@/ { split($3, p, "@@"); print p[2] " " p[1] }' | sort -u
}

# 0: equal; 1: a break (printed); 3: additions to the newest node only (printed).
compare() {
  old=$1 new=$2
  newest=$(cut -d' ' -f1 "$new" | sort -u -V | tail -n 1)
  gone=$(comm -23 "$old" "$new")
  added=$(comm -13 "$old" "$new")
  misplaced=$(printf '%s\n' "$added" | grep -v "^$newest " | grep . || true)
  if [ -n "$gone$misplaced" ]; then
    [ -z "$gone" ] || printf 'removed, or moved to another version node:\n%s\n' "$gone"
    [ -z "$misplaced" ] || printf 'added to an older node than %s:\n%s\n' "$newest" "$misplaced"
    return 1
  fi
  if [ -n "$added" ]; then
    printf 'added:\n%s\n' "$added"
    return 3
  fi
  return 0
}

check() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  list "$1" >"$tmp/current"
  if [ ! -s "$tmp/current" ]; then
    echo "no versioned symbols read from $1 (nm -D shows no NAME@@NODE)"
    exit 1
  fi
  rc=0
  compare "$2" "$tmp/current" || rc=$?
  case $rc in
    0) echo "symbols ok: $(wc -l <"$2") in $(cut -d' ' -f1 "$2" | sort -u | tr '\n' ' ')as in $2" ;;
    3) echo "new symbols are not recorded in $2: run scripts/update-abi.sh, review the diff and commit it"; exit 1 ;;
    *) echo "ABI BREAK against $2: a released symbol never leaves its node (docs/api-stability.md)"; exit 1 ;;
  esac
}

self_test() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sort -u "$1" >"$tmp/base"
  node=$(head -n 1 "$tmp/base" | cut -d' ' -f1)
  sym=$(head -n 1 "$tmp/base" | cut -d' ' -f2)
  fails=0
  expect() { # name, expected compare status, mutated list on stdin
    sort -u >"$tmp/mut"
    rc=0
    compare "$tmp/base" "$tmp/mut" >/dev/null || rc=$?
    if [ "$rc" = "$2" ]; then echo "ok $1: $rc"; else echo "FAIL $1: status $rc, expected $2"; fails=$((fails + 1)); fi
  }
  expect unchanged 0 <"$tmp/base"
  grep -v " $sym\$" "$tmp/base" | expect "symbol removed" 1
  { grep -v " $sym\$" "$tmp/base"; echo "WSRL_9.9 $sym"; } | expect "symbol moved to another node" 1
  { cat "$tmp/base"; echo "$node wsrl_abi_added"; } | expect "symbol added to the newest node" 3
  { cat "$tmp/base"; echo "WSRL_9.9 wsrl_abi_added2"; echo "$node wsrl_abi_added"; } |
    expect "symbol added to an older node" 1
  [ $fails -eq 0 ]
}

cmd=$1
shift
case $cmd in
  list) list "$@" ;;
  check) check "$@" ;;
  self-test) self_test "$@" ;;
  *) echo "usage: check-symbols.sh list|check|self-test ..." >&2; exit 2 ;;
esac
