#!/bin/sh
# ABI baseline tools (docs/api-stability.md), shared by the abi suite and
# scripts/update-abi.sh:
#   abi.sh decls INCDIR...                 every WSRL_API declaration, one a line
#   abi.sh dump LIB OUT INCDIR...          abidw of LIB (public types only) into OUT
#   abi.sh check LIB BASELINE INCDIR...    LIB against BASELINE: fails on an
#                                          incompatible change or a stale baseline
#   abi.sh mutations SYMFILE INCDIR...     proves `check` catches breaks, on stub
#                                          libraries built from mutated headers
# Allowed changes (tests/abi/abidiff.supp): new functions and variables, and
# fields appended at a struct's end. abidiff returns non-zero for anything else.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
supp=$here/abidiff.supp
cc=${CC:-cc}

need_abigail() {
  if ! command -v abidw >/dev/null 2>&1 || ! command -v abidiff >/dev/null 2>&1; then
    echo "SKIP: abidw/abidiff not found (Debian package abigail-tools; scripts/deps.sh installs it)"
    exit 77
  fi
  # The baseline is gcc's DWARF; libabigail 2.2's abidiff segfaults comparing
  # it with clang 14's (the sanitizer build). CI's gcc build checks the ABI.
  if [ "${WSRL_ABI_CC_ID:-gcc}" != gcc ]; then
    echo "SKIP: the ABI baseline is checked in gcc builds (this is $WSRL_ABI_CC_ID; abidiff 2.2 crashes on it)"
    exit 77
  fi
}

# Strip comments (the preprocessor, without expanding macros), join, split at
# ';', keep the statements that declare a WSRL_API function.
decls() {
  for d in "$@"; do
    for h in "$d"/*.h "$d"/*.h.in; do
      [ -f "$h" ] || continue
      $cc -fpreprocessed -dD -E -P -x c "$h" 2>/dev/null | grep -v '^[[:space:]]*#' || true
    done
  done | tr '\n' ' ' | sed 's/;/;\n/g' | sed -nE 's/^.*(WSRL_API[[:space:]][^;]*);[[:space:]]*$/\1;/p' | tr -s ' '
}

# Public types only (--headers-dir, --drop-private-types): the opaque handles'
# internals are not ABI. No locations or paths, hashed type ids: the file
# changes only when the ABI does.
dump() {
  lib=$1 out=$2
  shift 2
  hd=""
  for d in "$@"; do hd="$hd --headers-dir $d"; done
  # shellcheck disable=SC2086
  abidw $hd --drop-private-types --exported-interfaces-only --no-show-locs --no-comp-dir-path \
    --no-corpus-path --no-elf-needed --type-id-style hash --out-file "$out" "$lib"
}

# 0 when CUR differs from BASE only by allowed changes; the report in $3.
compatible() { abidiff --suppressions "$supp" "$1" "$2" >"$3" 2>&1; }

check() {
  lib=$1 base=$2
  shift 2
  need_abigail
  if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "$lib has no DWARF: lib/meson.build builds it with -g; was it stripped?"
    exit 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  dump "$lib" "$tmp/current.abi" "$@"
  if ! compatible "$base" "$tmp/current.abi" "$tmp/report"; then
    cat "$tmp/report"
    echo "ABI BREAK against $base (above). A deliberate break: see docs/api-stability.md."
    exit 1
  fi
  if ! abidiff "$base" "$tmp/current.abi" >"$tmp/report" 2>&1; then
    cat "$tmp/report"
    echo "The ABI grew compatibly (above) but $base does not record it:"
    echo "run scripts/update-abi.sh, review the diff and commit it."
    exit 1
  fi
  echo "abi ok: $(grep -c '<elf-symbol ' "$base") symbols, no change against $base"
}

# A stub libwsrl.so.0 from the headers in $1/wsrl, a declaration list $2 and
# a version script $3, with debug info, dumped into $4.
stub() {
  { echo '#include <wsrl/wsrl.h>'
    awk '{ sub(/;$/, ""); v = $0 ~ /^WSRL_API void [a-z_0-9]+ ?\(/; print $0 (v ? " {}" : " { return 0; }") }' "$2"
  } >"$1/stub.c"
  $cc -std=c11 -g -O0 -w -shared -fPIC -fvisibility=hidden -I"$1" -o "$1/libwsrl.so.0" -Wl,-soname,libwsrl.so.0 \
    -Wl,--version-script="$3" "$1/stub.c"
  dump "$1/libwsrl.so.0" "$4" "$1/wsrl"
}

mutations() {
  symfile=$1
  shift
  need_abigail
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/base/wsrl"
  for d in "$@"; do cp "$d"/*.h "$tmp/base/wsrl/"; done
  decls "$tmp/base/wsrl" >"$tmp/base.decls"
  stub "$tmp/base" "$tmp/base.decls" "$symfile" "$tmp/base.abi"
  # The first versioned struct of the first header that has one.
  h=$(grep -l 'uint32_t struct_size;' "$tmp"/base/wsrl/*.h | head -n 1)
  s=$(sed -nE 's/^typedef struct (wsrl_[a-z_0-9]+) \{.*/\1/p' "$h" | head -n 1)
  fn=$(sed -nE 's/^WSRL_API [^(]* \**(wsrl_[a-z_0-9]+) ?\(.*/\1/p' "$tmp/base.decls" | head -n 1)
  init=$(sed -nE 's/^WSRL_API [^(]* \**(wsrl_[a-z_0-9]+) ?\(.*uint32_t struct_size\);$/\1/p' "$tmp/base.decls" | head -n 1)
  fails=0
  # name, expected (compatible|break), then a command run in the mutant's
  # directory that edits wsrl/*.h, decls or sym and must change one of them.
  mutant() {
    name=$1 want=$2 edit=$3 m=$tmp/$1
    mkdir -p "$m"
    cp -r "$tmp/base/wsrl" "$m/"
    cp "$tmp/base.decls" "$m/decls"
    cp "$symfile" "$m/sym"
    before=$(cat "$m"/wsrl/*.h "$m/decls" "$m/sym" | cksum)
    (cd "$m" && eval "$edit")
    if [ "$edit" != : ] && [ "$before" = "$(cat "$m"/wsrl/*.h "$m/decls" "$m/sym" | cksum)" ]; then
      echo "FAIL $name: the mutation did not apply (headers changed?)"
      fails=$((fails + 1))
      return
    fi
    stub "$m" "$m/decls" "$m/sym" "$m.abi"
    got=break
    if compatible "$tmp/base.abi" "$m.abi" "$m.report"; then got=compatible; fi
    if [ "$got" = "$want" ]; then
      echo "ok $name: $got"
    else
      echo "FAIL $name: abidiff says $got, expected $want:"
      cat "$m.report"
      fails=$((fails + 1))
    fi
  }
  mutant unchanged compatible ':'
  mutant removed-symbol break "sed -i '/ $fn(/d; / $fn (/d' decls; sed -i '/^ *$fn;/d' sym"
  mutant changed-signature break "sed -i 's/\\($init(.*\\)uint32_t struct_size)/\\1uint64_t struct_size)/' decls wsrl/*.h"
  mutant field-inserted-mid-struct break \
    "sed -i '0,/^\( *uint32_t struct_size;\)/s//\1 int64_t abi_inserted;/' wsrl/$(basename "$h")"
  mutant field-appended compatible "sed -i 's/^} ${s}_t;/  int64_t abi_appended;\n&/' wsrl/$(basename "$h")"
  mutant symbol-added compatible \
    "echo 'WSRL_API int32_t wsrl_abi_added(void);' >>decls; sed -i '0,/global:/s//&\n    wsrl_abi_added;/' sym"
  [ $fails -eq 0 ] || exit 1
  echo "abi mutations ok: $fn removed, $init changed, a field inserted in $s: all caught"
}

cmd=$1
shift
case $cmd in
  decls) decls "$@" ;;
  dump) need_abigail; dump "$@" ;;
  check) check "$@" ;;
  mutations) mutations "$@" ;;
  *) echo "usage: abi.sh decls|dump|check|mutations ..." >&2; exit 2 ;;
esac
