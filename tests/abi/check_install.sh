#!/bin/sh
# meson install into a temporary DESTDIR, then a small program compiles and links against the installed
# copy through `pkg-config --cflags --libs wmfeat` and runs.
# Usage: check_install.sh BUILD_DIR SANITIZERS CC...   (SANITIZERS: meson's b_sanitize, e.g. none)
set -eu
build=$1 sanitize=$2; shift 2
san=""
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"   # a sanitized library needs a sanitized program
. "$(dirname "$0")/../install_tmp.sh"
install_into_tmp "$build"
pcdir=$(dirname "$(find "$dest" -name wmfeat.pc | head -n1)")
export PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --define-variable=prefix="$dest$prefix" --cflags --libs wmfeat)
cat > "$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <wmfeat.h>
int main(void) {
  printf("libwmfeat %s\n", wmf_version());
  if (strcmp(wmf_version(), WMF_VERSION_STRING) != 0) return 1;
  if (strcmp(wmf_status_name(WMF_ERR_CORRUPT), "WMF_ERR_CORRUPT") != 0) return 1;
  return 0;
}
C
# shellcheck disable=SC2086
"$@" $san "$tmp/use.c" -o "$tmp/use" $flags
libdir=$(pkg-config --define-variable=prefix="$dest$prefix" --variable=libdir wmfeat)
LD_LIBRARY_PATH="$libdir" "$tmp/use"
soname=$(readelf -d "$libdir/libwmfeat.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libwmfeat.so.1" ] || { echo "FAIL: SONAME is '$soname', expected libwmfeat.so.1"; exit 1; }
echo "installed, pkg-config link and run ok; SONAME $soname"
