#!/bin/sh
# Every public declaration in include/wsrl is documented: doxygen over the
# project's Doxyfile (WARN_NO_PARAMDOC, WARN_IF_UNDOCUMENTED,
# WARN_IF_INCOMPLETE_DOC) must give no warning, so an undocumented
# parameter, non-void return, struct field or macro fails here. HTML goes to
# a temporary folder: without an HTML page doxygen checks no @param at all.
set -eu
doxygen=$1 doxyfile=$2
if [ "$doxygen" = none ]; then
  echo "doxygen not found (Debian package doxygen): API reference not checked"
  exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{ cat "$doxyfile"
  echo "OUTPUT_DIRECTORY = $tmp"
  echo "SEARCHENGINE = NO"
  echo "GENERATE_TREEVIEW = NO"
  echo "WARN_LOGFILE = $tmp/warnings"; } | "$doxygen" - >"$tmp/out" 2>&1 || {
  cat "$tmp/out"; echo "doxygen failed"; exit 1; }
if [ -s "$tmp/warnings" ]; then
  cat "$tmp/warnings"
  echo "FAIL: $(grep -c 'warning:' "$tmp/warnings") doxygen warnings in include/wsrl (document every @param and @return)"
  exit 1
fi
echo "ok: every public declaration documented"
