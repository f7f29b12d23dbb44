#!/bin/sh
# Configuring never fails for what only tests need, and tests stay out of other projects' builds:
#  1. a user without rsvg-convert, abidw and torch (PATH without the tools, reference_python a bare venv):
#     `meson setup` succeeds, says why the reference checks are off, and still defines the tool tests
#     (they report SKIP at run time) but none of the reference tests;
#  2. the same with -Dreference_tests=enabled (CI) fails, naming the missing modules;
#  3. libwmfeat as a meson subproject builds no tests, unless the parent sets wmfeat:tests=true.
# Usage: check_configure.sh SOURCE_ROOT PYTHON
set -eu
src=$1 py=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tests_of() { meson introspect "$1" --tests | "$py" -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))'; }

"$py" -m venv --without-pip "$tmp/bare"
mkdir "$tmp/bin"
for d in $(echo "$PATH" | tr : ' '); do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    b=$(basename "$f")
    case $b in rsvg-convert|abidw|abidiff) continue ;; esac
    [ -e "$tmp/bin/$b" ] || ln -s "$f" "$tmp/bin/$b" 2>/dev/null || true
  done
done
PATH="$tmp/bin" meson setup "$tmp/user" "$src" -Dreference_python="$tmp/bare/bin/python3" > "$tmp/user.log" 2>&1 ||
  { cat "$tmp/user.log"; echo "FAIL: configure failed without rsvg-convert, abidw and torch"; exit 1; }
grep -q "reference_tests: off (.*lacks torch torchvision PIL sklearn" "$tmp/user.log" ||
  { cat "$tmp/user.log"; echo "FAIL: configure did not say why the reference checks are off"; exit 1; }
t=" $(tests_of "$tmp/user") "
for want in abi audit_figures audit headers; do
  case $t in *" $want "*) ;; *) echo "FAIL: test $want is not defined without the tools: $t"; exit 1 ;; esac
done
for unwanted in watermark_parity python nn-api; do
  case $t in *" $unwanted "*) echo "FAIL: reference test $unwanted is defined without torch"; exit 1 ;; esac
done
echo "1. configured without rsvg-convert, abidw, torch: $(echo $t | wc -w) tests, no reference tests"

if meson setup "$tmp/ci" "$src" -Dreference_tests=enabled -Dreference_python="$tmp/bare/bin/python3" > "$tmp/ci.log" 2>&1; then
  echo "FAIL: -Dreference_tests=enabled configured without torch"; exit 1
fi
grep -q "cannot be enabled: .*lacks the Python modules torch" "$tmp/ci.log" ||
  { cat "$tmp/ci.log"; echo "FAIL: the error does not name the missing modules"; exit 1; }
echo "2. -Dreference_tests=enabled without torch: configure error naming the modules"

mkdir -p "$tmp/parent/subprojects"
ln -s "$src" "$tmp/parent/subprojects/wmfeat"
printf "project('parent', 'c')\nexecutable('p', 'p.c', dependencies: dependency('wmfeat', fallback: ['wmfeat', 'wmfeat_dep']))\n" \
  > "$tmp/parent/meson.build"
printf '#include <wmfeat.h>\nint main(void) { return wmf_version_number() == 0; }\n' > "$tmp/parent/p.c"
meson setup "$tmp/parent/build" "$tmp/parent" > "$tmp/sub.log" 2>&1 || { cat "$tmp/sub.log"; echo "FAIL: subproject configure"; exit 1; }
[ -z "$(tests_of "$tmp/parent/build")" ] || { echo "FAIL: the subproject defines tests: $(tests_of "$tmp/parent/build")"; exit 1; }
meson setup "$tmp/parent/build2" "$tmp/parent" -Dwmfeat:tests=true -Dwmfeat:reference_tests=disabled > "$tmp/sub2.log" 2>&1 ||
  { cat "$tmp/sub2.log"; echo "FAIL: subproject configure with tests"; exit 1; }
case " $(tests_of "$tmp/parent/build2") " in *" headers "*) ;; *) echo "FAIL: wmfeat:tests=true defines no tests"; exit 1 ;; esac
echo "3. as a subproject: no tests; with wmfeat:tests=true: $(tests_of "$tmp/parent/build2" | wc -w) tests"
