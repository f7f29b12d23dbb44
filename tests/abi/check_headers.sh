#!/bin/sh
# Compiles <wmfeat.h> alone as C99 with -pedantic -Werror and as C++, and checks that a sub-header
# included directly is refused. Usage: check_headers.sh INCLUDE_DIR CC...
set -eu
inc=$1; shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include <wmfeat.h>\nint main(void) { return wmf_version_number() == 0; }\n' > "$tmp/a.c"
"$@" -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$tmp/a.c"
echo "C99 -pedantic -Werror: ok"
cp "$tmp/a.c" "$tmp/a.cpp"
c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$tmp/a.cpp"
echo "C++11 -pedantic -Werror: ok"
for h in "$inc"/wmfeat/*.h; do
  printf '#include <wmfeat/%s>\n' "$(basename "$h")" > "$tmp/b.c"
  if "$@" -fsyntax-only -I"$inc" "$tmp/b.c" 2>/dev/null; then
    echo "FAIL: wmfeat/$(basename "$h") can be included directly"; exit 1
  fi
done
echo "sub-headers refuse direct inclusion: ok"
