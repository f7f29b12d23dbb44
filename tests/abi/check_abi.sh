#!/bin/sh
# Compares the library's ABI with the committed baseline (abidiff); any change fails until the baseline
# is regenerated on purpose with `ninja -C build abi-baseline`. Usage: check_abi.sh LIB BASELINE INC [--update]
# Without abigail-tools (abidw, abidiff) the check is a skip (exit 77), a failure under WMF_REQUIRE_ALL_TOOLS=1.
set -eu
. "$(dirname "$0")/../skip.sh"
lib=$1 baseline=$2 inc=$3
require_tool abidw "abigail-tools reads the library's ABI"
require_tool abidiff "abigail-tools compares it with the baseline"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
abidw --no-corpus-path --no-comp-dir-path --headers-dir "$inc" --drop-private-types "$lib" > "$tmp/current.abi"
if [ "${4:-}" = "--update" ]; then
  cp "$tmp/current.abi" "$baseline"; echo "baseline updated: $baseline"; exit 0
fi
[ -f "$baseline" ] || { echo "FAIL: no ABI baseline at $baseline (run: ninja -C build abi-baseline)"; exit 1; }
if abidiff "$baseline" "$tmp/current.abi" > "$tmp/diff.txt" 2>&1; then
  echo "ABI equals the baseline"; exit 0
fi
cat "$tmp/diff.txt"
echo "FAIL: the ABI differs from $baseline; if the change is intended, run: ninja -C build abi-baseline"
exit 1
