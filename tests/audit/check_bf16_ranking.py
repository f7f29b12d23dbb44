"""A bf16 audit keeps the rankings of the fp32 audit (issue 13, item 2): on the planted network
(examples/data/planted_resnet.safetensors, `wmfeat demo`), the class AUCs and the channel AUCs of an audit
run with `--precision bf16` have Spearman >= 0.99 against those of `--precision fp32` (scipy.stats.spearmanr).
bf16 needs a CPU with AVX512-BF16 or AMX: elsewhere this is a hardware skip (exit 77, the message of the
nn-bf16 test), and that bf16 is refused there is asserted by tests/tools/test_cli_precision.py.
Usage: check_bf16_ranking.py WMFEAT_EXE SOURCE_ROOT"""
import csv
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from wmf_skip import skip_missing_tool, skip_no_hardware  # noqa: E402

BOUND = 0.99
exe, root = sys.argv[1], sys.argv[2]
data = os.path.join(root, "examples", "data")


def wmfeat(*args):
    p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=1200)
    if p.returncode != 0:
        sys.exit(f"FAIL: wmfeat {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p.stdout


if not json.loads(wmfeat("info", "--json"))["bf16"]:
    skip_no_hardware("this CPU has no bf16 instructions (avx512_bf16 or AMX): bf16 audits are refused "
                     "(asserted by cli_precision), their rankings cannot be compared with fp32")
try:
    from scipy.stats import spearmanr
except ImportError:
    skip_missing_tool("scipy", "scipy.stats.spearmanr compares the rankings (Debian python3-scipy)")


def aucs(folder, name):
    """The AUC column of classes.csv or channels.csv, in index order."""
    with open(os.path.join(folder, name), newline="") as f:
        rows = list(csv.DictReader(f))
    key = "auc" if "auc" in rows[0] else next(k for k in rows[0] if k.lower() == "auc")
    index = next(k for k in rows[0] if k in ("index", "class", "channel"))
    return [float(r[key]) for r in sorted(rows, key=lambda r: int(r[index]))]


with tempfile.TemporaryDirectory(prefix="wmfeat-bf16-") as tmp:
    runs = {}
    for precision in ("fp32", "bf16"):
        out = os.path.join(tmp, precision)
        result = json.loads(wmfeat("demo", "--data", data, "--out", out, "--precision", precision, "--json",
                                   "--threads", "2"))
        assert result["precision"] == precision, result
        runs[precision] = out
    failed = []
    for name in ("classes.csv", "channels.csv"):
        a, b = aucs(runs["fp32"], name), aucs(runs["bf16"], name)
        assert len(a) == len(b) and len(a) > 1, (name, len(a), len(b))
        rho = spearmanr(a, b).correlation
        rho_abs = spearmanr([abs(x - 0.5) for x in a], [abs(x - 0.5) for x in b]).correlation
        print(f"{name}: {len(a)} AUCs, Spearman bf16 vs fp32 {rho:.4f} (of |AUC - 0.5|: {rho_abs:.4f}), "
              f"max |difference| {max(abs(x - y) for x, y in zip(a, b)):.2e}")
        if not rho >= BOUND:
            failed.append(f"{name}: Spearman {rho:.4f} < {BOUND}")
    if failed:
        sys.exit("FAIL: " + "; ".join(failed))
print(f"bf16 keeps the class and channel AUC rankings of fp32 (Spearman >= {BOUND})")
