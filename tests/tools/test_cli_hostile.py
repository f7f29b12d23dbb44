"""`wmfeat info` on hostile weight files (tests/nn/gen_hostile_models.py, issue 11 item 6): every file the
library refuses makes the program exit 1 with the status and the tensor named on stderr, never die of a
signal (a [0, 1, 3, 3] conv2 used to end it with SIGFPE, exit 136); the valid ones exit 0."""
import os
import pathlib
import subprocess

import pytest

WMFEAT = os.environ["WMFEAT_EXE"]
DIR = pathlib.Path(os.environ["WMF_HOSTILE_MODELS"])


def cases():
    lines = (DIR / "expect.txt").read_text().splitlines()
    assert len(lines) >= 40, "the generator wrote too few files"
    return [c for c in (line.split(" ", 3) for line in lines) if c[1] == "-"]  # info infers the architecture


@pytest.mark.parametrize("case", cases(), ids=lambda c: c[0])
def test_info_exits_cleanly(case):
    name, _, status, detail = case
    p = subprocess.run([WMFEAT, "info", str(DIR / name)], capture_output=True, text=True, timeout=300)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}\n{p.stderr}"
    if status == "WMF_OK":
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 1, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        assert status in p.stderr and (detail == "-" or detail in p.stderr), p.stderr
