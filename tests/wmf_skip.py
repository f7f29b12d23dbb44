"""The two ways a Python test script that cannot run here says so (meson reports exit 77 as SKIP); the
same rules as tests/check_run.h (C) and tests/skip.sh (shell). pytest suites get them from their
conftest.py (tests/python/conftest.py)."""
import os
import sys

SKIP = 77
HARDWARE = "SKIP (no hardware support):"  # the one kind of skip .ci/summarize.py accepts in CI


def require_all_tools():
    """True where a missing tool is a failure, not a skip (.ci/run sets WMF_REQUIRE_ALL_TOOLS=1)."""
    return os.environ.get("WMF_REQUIRE_ALL_TOOLS") == "1"


def skip_no_hardware(why):
    """This CPU lacks what the test checks: a skip, in CI too."""
    print(f"{HARDWARE} {why}", file=sys.stderr)
    sys.exit(SKIP)


def skip_missing_tool(tool, why):
    """A tool the test needs is missing: a skip, a failure under WMF_REQUIRE_ALL_TOOLS=1."""
    if require_all_tools():
        print(f"FAIL: {tool} is missing ({why}) and WMF_REQUIRE_ALL_TOOLS=1", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP (missing tool): {tool}: {why}", file=sys.stderr)
    sys.exit(SKIP)
