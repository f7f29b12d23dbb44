"""Prints one plain closing line 'N passed, N failed, N skipped' over meson's testlog.json files, lists
every skipped test by name with its reason, and fails when any test failed, none ran, or a test was
skipped for any reason but missing hardware (a CPU without bf16, on this AVX2 machine, is the one
accepted skip: a missing tool is not, since CI installs them all and runs with WMF_REQUIRE_ALL_TOOLS=1)."""
import json, sys

ACCEPTED = "SKIP (no hardware support):"  # tests/check_run.h, tests/skip.sh

passed = failed = 0
accepted, refused = [], []
for path in sys.argv[1:]:
    build = path.split("/meson-logs/")[0]
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            r = t["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                out = (t.get("stderr") or "") + (t.get("stdout") or "")
                reason = next((l.strip() for l in out.splitlines() if l.startswith("SKIP")), "no reason given")
                (accepted if reason.startswith(ACCEPTED) else refused).append(f"{build}: {t['name']}: {reason}")
            else:
                failed += 1
for what, items in (("skipped (accepted: hardware)", accepted), ("skipped (NOT accepted in CI)", refused)):
    for item in items:
        print(f"{what}: {item}")
print(f"{passed} passed, {failed} failed, {len(accepted) + len(refused)} skipped")
sys.exit(1 if failed or refused or not passed else 0)
