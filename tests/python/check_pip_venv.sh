#!/bin/sh
# `pip install examples/python` against an installed library: libwmfeat is installed (meson install into a
# temporary DESTDIR, its wmfeat.pc pointed there as a user's PKG_CONFIG_PATH would be), then a venv
# (--system-site-packages, for numpy and setuptools) gets the package through
# `pip install --no-build-isolation --no-index` from a copy of examples/python (pip builds in the source
# folder). Imported from the venv with neither WMFEAT_LIBRARY nor LD_LIBRARY_PATH, the package loads the
# installed library and renders a watermark with it; its version is the library's.
# Usage: check_pip_venv.sh BUILD_DIR PYTHON SOURCE_ROOT VERSION
set -eu
. "$(dirname "$0")/../skip.sh"
. "$(dirname "$0")/../install_tmp.sh"
build=$1 py=$2 src=$3 version=$4
"$py" -c 'import setuptools, wheel' 2>/dev/null || skip_missing_tool "python3-setuptools, python3-wheel" "pip builds the package with them"
install_into_tmp "$build" "$py"
pc=$(find "$dest" -name wmfeat.pc | head -n1)
mkdir "$tmp/pc"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" > "$tmp/pc/wmfeat.pc"
if ! "$py" -m venv --system-site-packages "$tmp/venv" > "$tmp/venv.log" 2>&1; then
  cat "$tmp/venv.log" >&2
  skip_missing_tool "python3-venv" "$py -m venv failed (Debian: python3-venv gives venvs their pip)"
fi
mkdir "$tmp/src"
cp "$src/examples/python/pyproject.toml" "$src/examples/python/setup.py" "$tmp/src/"
cp -r "$src/examples/python/wmfeat" "$tmp/src/wmfeat"
rm -rf "$tmp/src/wmfeat/__pycache__"
env -u WMFEAT_LIBDIR PKG_CONFIG_PATH="$tmp/pc" "$tmp/venv/bin/pip" install --no-build-isolation --no-index --quiet \
  "$tmp/src" 2>&1 | { grep -v "^$" || true; }
cd "$tmp"
env -u WMFEAT_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH "$tmp/venv/bin/python" - "$tmp" "$version" <<'PY'
import importlib.metadata, os, sys
import numpy as np
import wmfeat
tmp, version = sys.argv[1], sys.argv[2]
assert wmfeat.__file__.startswith(os.path.join(tmp, "venv") + os.sep), f"FAIL: imported {wmfeat.__file__}"
with open("/proc/self/maps") as f:
    libs = {line.split()[-1] for line in f if "libwmfeat.so" in line}
dest = os.path.join(tmp, "dest") + os.sep
assert libs and all(p.startswith(dest) for p in libs), f"FAIL: loaded {libs}, not the installed library"
assert importlib.metadata.version("wmfeat") == version == wmfeat.version(), \
    (importlib.metadata.version("wmfeat"), version, wmfeat.version())
with wmfeat.Image.create(96, 96, (10, 20, 30)) as img, wmfeat.Watermark.from_preset("imagenet-w") as wm:
    wm.apply(img)
    changed = int(np.count_nonzero(np.any(img.to_array() != (10, 20, 30), axis=2)))
assert changed > 0, "FAIL: the watermark changed no pixel"
print(f"pip-installed {os.path.dirname(wmfeat.__file__)} (version {version}) loads {libs.pop()}; "
      f"imagenet-w changed {changed} pixels")
PY
