#!/usr/bin/python3
"""Reference heads from scikit-learn's LogisticRegression(multinomial, lbfgs) on synthetic problems,
for test_probe_ref.c. Usage: ref_probe.py OUT.bin (format of ref_audit.py)."""
import struct, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(7)
out = open(sys.argv[1], "wb")


def put(name, arr):
    arr = np.ascontiguousarray(arr)
    code = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int32): 2}[arr.dtype]
    b = name.encode()
    out.write(struct.pack("<I", len(b)) + b + struct.pack("<IQ", code, arr.size) + arr.tobytes())


def problem(tag, K, F, n, C, masked):
    centers = rng.normal(0, 1.0, size=(K, F))
    def draw(m):
        y = rng.integers(0, K, size=m)
        x = centers[y] + rng.normal(0, 1.5, size=(m, F))
        return np.maximum(x + 0.5, 0).astype(np.float32), y.astype(np.int32)  # ReLU-like features
    X, y = draw(n)
    Xt, yt = draw(n // 2)
    keep = np.ones(F, bool)
    keep[masked] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a convergence warning fails the reference
        clf = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=C, tol=1e-12, max_iter=100000)
        clf.fit(X.astype(np.float64) * keep, y)
    W = clf.coef_ if K > 2 else np.vstack([-clf.coef_, clf.coef_])  # binary: sklearn keeps row 1 of the symmetric solution
    b = clf.intercept_ if K > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]])
    put(f"{tag}_dims", np.array([K, F, n, n // 2], np.int32))
    put(f"{tag}_C", np.array([C], np.float64))
    put(f"{tag}_masked", np.array(masked, np.int32))
    put(f"{tag}_X", X), put(f"{tag}_y", y), put(f"{tag}_Xt", Xt), put(f"{tag}_yt", yt)
    put(f"{tag}_W", W.astype(np.float64)), put(f"{tag}_b", (b - b.mean()).astype(np.float64))
    Xk = X.astype(np.float64) * keep  # sklearn's objective at its solution: mean CE + ||W||^2 / (2 C n)
    Z = Xk @ W.T + b
    Z -= Z.max(1, keepdims=True)
    ce = np.mean(np.log(np.exp(Z).sum(1)) - Z[np.arange(n), y])
    put(f"{tag}_objective", np.array([ce + (W ** 2).sum() / (2 * C * n)], np.float64))
    put(f"{tag}_acc", np.array([clf.score(X * keep, y), clf.score(Xt * keep, yt)], np.float64))


problem("multi", 4, 20, 600, 0.5, [])
problem("masked", 5, 30, 800, 0.05, [0, 3, 7, 29])
problem("binary", 2, 16, 400, 1.0, [2])
out.close()
