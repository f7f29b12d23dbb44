"""CI's closing line (.ci/summarize.py) lists every skipped test by name with its reason and accepts only a
skip for missing hardware: a missing tool, a skip without a reason or a failure fails CI.
Usage: check_summarize.py SOURCE_ROOT"""
import json
import os
import subprocess
import sys
import tempfile

summarize = os.path.join(sys.argv[1], ".ci", "summarize.py")


def run(*tests):
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "build", "meson-logs"))
        log = os.path.join(tmp, "build", "meson-logs", "testlog.json")
        with open(log, "w") as f:
            for name, result, stderr in tests:
                f.write(json.dumps({"name": name, "result": result, "stdout": "", "stderr": stderr}) + "\n")
        p = subprocess.run([sys.executable, summarize, log], capture_output=True, text=True)
    return p.returncode, p.stdout


ok = ("core", "OK", "")
bf16 = ("nn-bf16", "SKIP", "SKIP (no hardware support): this CPU has no bf16 instructions\n")
rsvg = ("audit_figures", "SKIP", "SKIP (missing tool): rsvg-convert: renders figures\n")

code, out = run(ok, bf16)
assert code == 0 and "nn-bf16: SKIP (no hardware support)" in out and "1 passed, 0 failed, 1 skipped" in out, out
code, out = run(ok, bf16, rsvg)
assert code == 1 and "NOT accepted" in out and "audit_figures: SKIP (missing tool): rsvg-convert" in out, out
code, out = run(ok, ("x", "SKIP", ""))
assert code == 1 and "x: no reason given" in out, out
code, out = run(ok, ("y", "FAIL", ""))
assert code == 1 and "1 passed, 1 failed, 0 skipped" in out, out
code, out = run(bf16)
assert code == 1, out  # nothing passed
print("summarize.py: hardware skips listed and accepted; tool skips, unexplained skips, failures refused")
