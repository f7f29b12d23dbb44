# Sourced by the shell checks: the two ways a check that cannot run here says so (meson reports exit 77
# as SKIP); the same rules as tests/check_run.h.
# skip_missing_tool TOOL WHY: a skip, but a failure where WMF_REQUIRE_ALL_TOOLS=1 (.ci/run sets it).
skip_missing_tool() {
  if [ "${WMF_REQUIRE_ALL_TOOLS:-}" = 1 ]; then
    echo "FAIL: $1 is missing ($2) and WMF_REQUIRE_ALL_TOOLS=1" >&2; exit 1
  fi
  echo "SKIP (missing tool): $1: $2" >&2; exit 77
}
# require_tool TOOL WHY: skip_missing_tool unless TOOL (a name or a path) can be run.
require_tool() {
  command -v "$1" >/dev/null 2>&1 || skip_missing_tool "$1" "$2"
}
