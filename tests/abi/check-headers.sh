#!/bin/sh
# Each public header compiles on its own as strict C11 and as C++11.
set -eu
cc=$1 cxx=$2 srcinc=$3 buildinc=$4
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for h in "$srcinc"/wsrl/*.h; do
  name=$(basename "$h")
  printf '#include <wsrl/%s>\n#include <wsrl/%s>\nint main(void) { return 0; }\n' "$name" "$name" >"$tmp/t.c"
  "$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror -I"$srcinc" -I"$buildinc" -c "$tmp/t.c" -o "$tmp/t.o"
  if [ "$cxx" != none ]; then
    cp "$tmp/t.c" "$tmp/t.cpp"
    "$cxx" -std=c++11 -pedantic-errors -Wall -Wextra -Werror -I"$srcinc" -I"$buildinc" -c "$tmp/t.cpp" -o "$tmp/t.o"
  fi
  echo "ok $name"
done
