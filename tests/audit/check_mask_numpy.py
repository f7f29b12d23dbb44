#!/usr/bin/python3
"""The .npy and JSON mask files work for numpy / PyTorch users: numpy writes masks of several dtypes,
the library reads them and writes its own, numpy loads those and they multiply features correctly.
Usage: check_mask_numpy.py TEST_MASK_EXECUTABLE"""
import json, subprocess, sys, tempfile, pathlib
import numpy as np

exe = sys.argv[1]
rng = np.random.default_rng(3)
with tempfile.TemporaryDirectory() as d:
    d = pathlib.Path(d)
    for dtype in (np.float32, np.float64, np.uint8, np.bool_, np.int64):
        keep = (rng.uniform(size=2048) > 0.3)
        np.save(d / "in.npy", keep.astype(dtype))
        subprocess.run([exe, "roundtrip", d / "in.npy", d / "out.npy", d / "out.json"], check=True)
        got = np.load(d / "out.npy")
        assert got.dtype == np.float32 and got.shape == (2048,), (got.dtype, got.shape)
        assert np.array_equal(got, keep.astype(np.float32)), dtype
        feats = rng.normal(size=(4, 2048)).astype(np.float32)
        assert np.array_equal(feats * got, np.where(keep, feats, 0))
        j = json.loads((d / "out.json").read_text())
        assert j["format"] == "wmfeat-mask" and j["num_features"] == 2048
        assert j["masked"] == np.flatnonzero(~keep).tolist()
    np.save(d / "in.npy", np.ones((2, 3), np.float32))
    r = subprocess.run([exe, "roundtrip", d / "in.npy", d / "out.npy", d / "out.json"], capture_output=True)
    assert r.returncode != 0, "a 2-D array was accepted"
    np.save(d / "in.npy", np.array([0.5, 1.0], np.float32))
    r = subprocess.run([exe, "roundtrip", d / "in.npy", d / "out.npy", d / "out.json"], capture_output=True)
    assert r.returncode != 0, "a non-0/1 multiplier was accepted"
print("ok: numpy reads and writes wmfeat masks")
