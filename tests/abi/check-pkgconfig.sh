#!/bin/sh
# Install into a temporary root, then build and run a consumer with nothing
# but pkg-config's flags, shared and static.
# WSRL_CONSUMER_FLAGS: extra compiler flags (the sanitizer CI build's -fsanitize).
set -eu
builddir=$1 src=$2 cc=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
meson install -C "$builddir" --destdir "$tmp" --quiet >/dev/null
pc=$(find "$tmp" -name wsrl.pc | head -n 1)
# Relocate the installed prefix into the temporary root.
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$tmp$prefix|; s|=$prefix/|=$tmp$prefix/|" "$pc"
# Only wsrl.pc is visible: a consumer must not need hdf5.pc (or any other).
export PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_PATH=
pkg-config --exists --print-errors wsrl
libdir=$(pkg-config --variable=libdir wsrl)
case " $(pkg-config --cflags wsrl) " in *hdf5*) echo "wsrl.pc: HDF5 in a consumer's Cflags"; exit 1 ;; esac
"$cc" -std=c11 ${WSRL_CONSUMER_FLAGS:-} -o "$tmp/consumer" "$src" $(pkg-config --cflags --libs wsrl)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
# Static: link libwsrl.a by path with the private libraries pkg-config lists.
"$cc" -std=c11 ${WSRL_CONSUMER_FLAGS:-} -o "$tmp/consumer-static" "$src" $(pkg-config --cflags wsrl) \
  "$libdir/libwsrl.a" $(pkg-config --static --libs wsrl | sed 's/-lwsrl//')
"$tmp/consumer-static"
