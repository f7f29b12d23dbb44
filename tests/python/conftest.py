import os
import pathlib
import sys

# The binding lives in examples/python; meson sets WMFEAT_LIBRARY to the freshly built library.
ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "python"))
if "WMFEAT_LIBRARY" not in os.environ:
    raise RuntimeError("WMFEAT_LIBRARY is not set: run these tests through `meson test`")

# A pytest skip must not pass silently: when any test was skipped and none failed, the run exits 77 (meson
# shows SKIP) and names every skipped test with its reason on stderr; under WMF_REQUIRE_ALL_TOOLS=1 (CI)
# a skip whose reason does not start with "no hardware support" fails the run (tests/wmf_skip.py).
sys.path.insert(0, str(ROOT / "tests"))
import wmf_skip  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if not skipped or exitstatus != 0:
        return
    refused = False
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        hardware = reason.startswith("no hardware support")
        refused |= not hardware and wmf_skip.require_all_tools()
        kind = wmf_skip.HARDWARE if hardware else "SKIP (missing tool):"
        print(f"{kind} {report.nodeid}: {reason}", file=sys.stderr)
    session.exitstatus = 1 if refused else wmf_skip.SKIP
