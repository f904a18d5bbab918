#!/bin/sh
# The shared library exports exactly the public API: every dynamic symbol
# starts with wsrl_, every WSRL_API declaration in the headers is exported,
# and every exported symbol is declared in a header and listed in libwsrl.sym.
set -eu
lib=$1 incdir=$2 symfile=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
bad=$(grep -v '^wsrl_' "$tmp/exported" || true)
if [ -n "$bad" ]; then echo "non-wsrl_ symbols exported:"; echo "$bad"; exit 1; fi

# Declarations: the identifier before the first '(' of each WSRL_API statement.
sh "$(dirname "$0")/abi.sh" decls "$incdir" \
  | sed -E 's/^WSRL_API[[:space:]]+//; s/\(.*//; s/.*[ *]([a-z_0-9]+)[[:space:]]*$/\1/' | sort -u >"$tmp/declared"
grep -oE '^[[:space:]]+wsrl_[a-z_0-9]+;' "$symfile" | tr -d ' ;\t' | sort -u >"$tmp/listed"

status=0
if ! diff -u "$tmp/declared" "$tmp/exported" >"$tmp/d1"; then
  echo "declared (-) vs exported (+) differ:"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/declared" "$tmp/listed" >"$tmp/d2"; then
  echo "declared (-) vs libwsrl.sym (+) differ:"; cat "$tmp/d2"; status=1
fi
[ $status -eq 0 ] && echo "exports ok: $(wc -l <"$tmp/exported") wsrl_ symbols"
exit $status
