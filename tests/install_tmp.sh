# Sourced by the install checks (tests/abi/check_install.sh, tests/python/check_*.sh).
# install_into_tmp BUILD_DIR [PYTHON]: `meson install` of BUILD_DIR into a temporary DESTDIR, removed when
# the script exits. Sets tmp (a temporary folder), dest (the DESTDIR inside it) and prefix (the build's
# prefix, so the installed tree is "$dest$prefix"); PYTHON (default /usr/bin/python3) reads meson's JSON.
install_into_tmp() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  dest=$tmp/dest
  if ! meson install -C "$1" --no-rebuild --quiet --destdir "$dest" > "$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    echo "FAIL: meson install -C $1 --destdir $dest" >&2
    exit 1
  fi
  prefix=$(meson introspect "$1" --buildoptions | "${2:-/usr/bin/python3}" -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
}
