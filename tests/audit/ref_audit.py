#!/usr/bin/python3
"""Reference values for the audit statistics from scikit-learn, scipy and numpy.
Usage: ref_audit.py OUT.bin
Writes named arrays (u32 name length, name, u32 dtype 0=f32 1=f64 2=i32, u64 count, data), read by
test_audit_ref.c."""
import struct, sys
import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(20261128)
out = open(sys.argv[1], "wb")


def put(name, arr):
    arr = np.ascontiguousarray(arr)
    code = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int32): 2}[arr.dtype]
    b = name.encode()
    out.write(struct.pack("<I", len(b)) + b + struct.pack("<IQ", code, arr.size))
    out.write(arr.tobytes())


def auc(neg, pos):
    y = np.r_[np.zeros(len(neg)), np.ones(len(pos))]
    return roc_auc_score(y, np.r_[neg, pos].astype(np.float64))


# --- two-sample AUC cases, ties and degenerate ones included ---
cases = {
    "normal": (rng.normal(size=1000), rng.normal(0.3, 1, size=800)),
    "ties": (rng.integers(0, 5, size=500), rng.integers(1, 6, size=700)),
    "all_equal": (np.full(300, 2.5), np.full(200, 2.5)),
    "separable_up": (rng.uniform(0, 1, 100), rng.uniform(2, 3, 50)),
    "separable_down": (rng.uniform(2, 3, 100), rng.uniform(0, 1, 50)),
    "signed_zeros": (np.array([-0.0, 0.0, 1.0, -1.0]), np.array([0.0, -0.0, 0.5])),
    "single": (np.array([1.0]), np.array([1.0])),
    "relu_ties": (np.maximum(rng.normal(-0.5, 1, 5000), 0), np.maximum(rng.normal(-0.3, 1, 5000), 0)),
    "large": (np.round(rng.normal(size=100_000), 2), np.round(rng.normal(0.05, 1, size=100_000), 2)),
}
names = sorted(cases)
put("auc_cases", np.array([len(names)], np.int32))
for i, k in enumerate(names):
    neg, pos = (np.asarray(v, np.float32) for v in cases[k])
    put(f"auc{i}_neg", neg)
    put(f"auc{i}_pos", pos)
    put(f"auc{i}_expect", np.array([auc(neg, pos)], np.float64))
try:
    roc_auc_score(np.zeros(3), np.arange(3.0))
    raise SystemExit("sklearn accepted a single-class AUC; the degenerate-case contract changed")
except ValueError:
    pass  # sklearn refuses an empty class; wmf_auc returns WMF_ERR_INVALID_ARGUMENT and NaN


def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def column_scores(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    a = auc(x, y)
    md = y.mean() - x.mean()
    pooled = np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    d = y - x
    sd = d.std(ddof=1)
    nz = d[d != 0]
    if len(nz):
        r = stats.wilcoxon(y, x, zero_method="wilcox", correction=False, method="approx")
        wplus = stats.rankdata(np.abs(nz))[nz > 0].sum()
        n = len(nz)
        z = abs(r.zstatistic) * np.sign(wplus - n * (n + 1) / 4)
    else:
        z = np.nan
    return [a, max(a, 1 - a), md, md / pooled if pooled > 0 else np.nan, d.mean() / sd if sd > 0 else np.nan, z]


def paired_case(tag, n, C, F, label_frac):
    base = rng.normal(size=(n, C)) * 2
    shift = np.zeros(C)
    shift[1] = 0.8  # one class the watermark raises
    shift[2] = -0.3
    cl = base.astype(np.float32)
    wl = (base + shift + rng.normal(0, 0.5, size=(n, C))).astype(np.float32)
    if C > 3:
        wl[:, 3] = cl[:, 3]  # an unaffected class: all paired differences zero
    f = rng.normal(-0.2, 1, size=(n, F))
    cf = np.maximum(f, 0).astype(np.float32)  # ReLU features: many ties at zero
    g = f + np.linspace(-0.5, 1.0, F) + rng.normal(0, 0.3, size=(n, F))
    wf = np.maximum(g, 0).astype(np.float32)
    cf = np.round(cf, 1)
    wf = np.round(wf, 1)  # more ties
    labels = rng.integers(0, C, size=n).astype(np.int32)
    labels[rng.uniform(size=n) > label_frac] = -1
    put(f"{tag}_dims", np.array([n, C, F], np.int32))
    for k, v in (("cl", cl), ("wl", wl), ("cf", cf), ("wf", wf)):
        put(f"{tag}_{k}", v)
    put(f"{tag}_labels", labels)
    put(f"{tag}_class_cols", np.array([column_scores(cl[:, c], wl[:, c]) for c in range(C)], np.float64))
    put(f"{tag}_chan_cols", np.array([column_scores(cf[:, c], wf[:, c]) for c in range(F)], np.float64))
    pc, pw = softmax(cl), softmax(wl)
    ac, aw = cl.argmax(1), wl.argmax(1)
    dprob = pw.mean(0) - pc.mean(0)
    dtop = np.bincount(aw, minlength=C) / n - np.bincount(ac, minlength=C) / n
    lab = labels >= 0
    accs = []
    for c in range(C):
        m = labels == c
        accs.append([np.mean(ac[m] == c) if m.any() else np.nan, np.mean(aw[m] == c) if m.any() else np.nan])
    accs = np.array(accs)
    put(f"{tag}_class_extra", np.c_[dprob, dtop, accs[:, 0], accs[:, 1], accs[:, 1] - accs[:, 0]].astype(np.float64))
    put(f"{tag}_overall", np.array([np.mean(ac[lab] == labels[lab]), np.mean(aw[lab] == labels[lab]), lab.sum()],
                                   np.float64))


paired_case("small", 3000, 5, 7, 0.7)
paired_case("big", 100_000, 3, 4, 1.0)
out.close()
