"""What the tests of the wmfeat program share: the program, the test weights, the photos, running a
command with an expected exit code, reading a report."""
import json
import os
import pathlib
import shutil
import subprocess

WMFEAT = os.environ["WMFEAT_EXE"]
# the random-weight ResNet-18 of tests/nn (reference builds only; None where a test file needs none)
WEIGHTS = os.environ.get("WMFEAT_TEST_WEIGHTS")
PHOTOS = pathlib.Path("/usr/lib/python3/dist-packages/skimage/data")


def run(*args, code=0, **kw):
    """Runs `wmfeat ARGS...` (each converted with str) and checks its exit code."""
    p = subprocess.run([WMFEAT, *map(str, args)], capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == code, f"exit {p.returncode}, expected {code}\n{p.stdout}\n{p.stderr}"
    return p


def planted_images(folder):
    """Four images in `folder` for the planted network (examples/data): two photos, each twice."""
    data = pathlib.Path(os.environ["WMF_SOURCE_ROOT"]) / "examples" / "data"
    for name in ("chelsea.png", "coffee.png"):
        shutil.copy(data / name, folder / name)
        shutil.copy(data / name, folder / f"again_{name}")
    return folder


def report(folder):
    """The report.json of an audit's output folder."""
    return json.loads((pathlib.Path(folder) / "report.json").read_text())
