"""The same audit run from Python (through the binding) and from C (audit_from_c, built by meson) gives
byte-identical reports and states."""
import os
import subprocess

import numpy as np
import pytest

from wmfeat import Audit, Order, Score, Target

C_PROGRAM = os.environ.get("WMF_AUDIT_FROM_C")


def write_input(path, cl, wl, cf, wf, labels):
    n, nc = cl.shape
    nf = cf.shape[1]
    with open(path, "wb") as f:
        np.array([n, nc, nf, labels is not None], "<u8").tofile(f)
        for a in (cl, wl, cf, wf):
            a.astype("<f4").tofile(f)
        if labels is not None:
            labels.astype("<i4").tofile(f)


def run_c(tmp_path, arrays, batch):
    inp = tmp_path / "input.bin"
    write_input(inp, *arrays)
    out = tmp_path / "c"
    out.mkdir()
    subprocess.run([C_PROGRAM, str(inp), str(out), str(batch)], check=True, timeout=120)
    return out


@pytest.mark.parametrize("labels", [True, False])
def test_same_audit_from_python_and_from_c(tmp_path, labels):
    assert C_PROGRAM and os.access(C_PROGRAM, os.X_OK), "WMF_AUDIT_FROM_C is not set: run via meson test"
    rng = np.random.default_rng(7)
    n, nc, nf = 61, 1000, 64  # 1000 classes: the ImageNet names go into the CSV on both sides
    cl = rng.normal(0, 2, (n, nc)).astype(np.float32)
    wl = cl + rng.normal(0.1, 0.5, (n, nc)).astype(np.float32)
    wl[:, 478] += 1.5  # a "carton" shortcut
    cf = np.maximum(0, rng.normal(size=(n, nf))).astype(np.float32)
    wf = np.maximum(0, cf + rng.normal(0, 0.3, (n, nf))).astype(np.float32)
    wf[:, 5] += 0.8
    lab = rng.integers(0, nc, n).astype(np.int32) if labels else None
    if labels:
        lab[::3] = cl[::3].argmax(1)  # some correct predictions
        lab[1::7] = -1                # and unknown labels

    c_dir = run_c(tmp_path, (cl, wl, cf, wf, lab), batch=8)

    py = tmp_path / "py"
    py.mkdir()
    with Audit.create(nc, nf) as a:
        a.add(cl[:30], wl[:30], cf[:30], wf[:30], None if lab is None else lab[:30])
        a.add(cl[30:], wl[30:], cf[30:], wf[30:], None if lab is None else lab[30:])
        a.write_json(py / "report.json")
        a.write_csv(Target.CLASSES, py / "classes.csv")
        a.write_csv(Target.CHANNELS, py / "channels.csv")
        a.save(py / "state.wmfa")
        count = a.count_above(Target.CHANNELS, Score.D, 0.7)
        top = a.rank(Target.CHANNELS, Score.AUC, Order.FROM_HALF, 5)
        acc = a.accuracy()

    for name in ("report.json", "classes.csv", "channels.csv", "state.wmfa"):
        assert (py / name).read_bytes() == (c_dir / name).read_bytes(), name
    summary = dict(line.split(" ", 1) for line in (c_dir / "summary.txt").read_text().splitlines())
    assert int(summary["count_d_above_0.7"]) == count
    assert [int(x) for x in summary["top"].split()] == top.tolist()
    assert 5 in top.tolist()
    c_clean, c_wm, c_labelled = summary["accuracy"].split()
    assert float(c_clean) == acc[0] or (np.isnan(acc[0]) and c_clean in ("nan", "-nan"))
    assert float(c_wm) == acc[1] or (np.isnan(acc[1]) and c_wm in ("nan", "-nan"))
    assert int(c_labelled) == acc[2]
    assert acc[2] == (n - len(range(1, n, 7)) if labels else 0)

    # and the C-written state loads in Python into the same audit
    with Audit.load(c_dir / "state.wmfa") as back:
        assert back.num_pairs == n
        assert back.to_bytes() == (py / "state.wmfa").read_bytes()
