#!/bin/sh
# The C example in README.md compiles against the headers and runs.
set -eu
readme=$1 cc=$2 srcinc=$3 buildinc=$4 libdir=$5
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ {on = 1; next} /^```$/ {if (on) exit} on {print}' "$readme" >"$tmp/example.c"
[ -s "$tmp/example.c" ] || { echo "no \`\`\`c block in $readme"; exit 1; }
"$cc" -std=c11 ${WSRL_CONSUMER_FLAGS:-} -Wall -Wextra -Werror -I"$srcinc" -I"$buildinc" "$tmp/example.c" -L"$libdir" -lwsrl -o "$tmp/example"
LD_LIBRARY_PATH="$libdir" "$tmp/example"
