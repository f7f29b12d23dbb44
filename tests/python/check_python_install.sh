#!/bin/sh
# `meson install` (into a temporary DESTDIR) puts the wmfeat package into the interpreter's own
# site-packages for the prefix, every module of examples/python/wmfeat plus the generated _paths.py; the
# installed copy, imported from there with neither WMFEAT_LIBRARY nor LD_LIBRARY_PATH, loads the library
# installed with it and calls it. Usage: check_python_install.sh BUILD_DIR PYTHON SOURCE_ROOT
set -eu
. "$(dirname "$0")/../install_tmp.sh"
build=$1 py=$2 src=$3
install_into_tmp "$build" "$py"
init=$(find "$dest" -path '*/wmfeat/__init__.py' | head -n1)
[ -n "$init" ] || { echo "FAIL: meson install put no wmfeat package under $dest"; exit 1; }
pkg=$(dirname "$init")
site=$(dirname "$pkg")
for f in "$src"/examples/python/wmfeat/*.py; do
  [ -f "$pkg/$(basename "$f")" ] || { echo "FAIL: $(basename "$f") is not installed in $pkg"; exit 1; }
done
[ -f "$pkg/_paths.py" ] || { echo "FAIL: no _paths.py in $pkg"; exit 1; }
[ ! -e "$pkg/_paths.py.in" ] || { echo "FAIL: the template _paths.py.in is installed"; exit 1; }
# the directory is the interpreter's own site-packages for this prefix when it has one there
"$py" - "$prefix" "${site#"$dest"}" <<'PY'
import os, site, sys
prefix, installed = sys.argv[1], sys.argv[2]
own = [d for d in site.getsitepackages() if os.path.relpath(d, prefix).split(os.sep)[0] in ("lib", "lib64")]
if own:
    assert installed == own[0], f"FAIL: installed into {installed}, the interpreter's site-packages is {own[0]}"
    print(f"installed into the interpreter's site-packages {installed}")
else:
    print(f"prefix {prefix} has none of the interpreter's site-packages: installed into {installed}")
PY
cd "$tmp"
env -u WMFEAT_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH="$site" "$py" - "$dest" <<'PY'
import os, sys
import wmfeat
dest = sys.argv[1]
assert wmfeat.__file__.startswith(dest + os.sep), f"FAIL: imported {wmfeat.__file__}, not the installed copy"
with open("/proc/self/maps") as f:
    libs = {line.split()[-1] for line in f if "libwmfeat.so" in line}
assert libs and all(p.startswith(dest + os.sep) for p in libs), f"FAIL: loaded {libs}, not the installed library"
assert wmfeat.version() and wmfeat.status_name(-1).startswith("WMF_ERR_")
print(f"installed package {os.path.dirname(wmfeat.__file__)} loads {libs.pop()}, version {wmfeat.version()}")
PY
