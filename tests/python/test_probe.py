import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import wmfeat
from wmfeat import Mask, Probe, ProbeOptions


def blobs(n=120, f=12, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n).astype(np.int32)
    centers = rng.normal(0, 1.5, (c, f))
    x = (centers[y] + rng.normal(size=(n, f))).astype(np.float32)
    return x, y


def objective(x, y, w, b, C):
    """mean cross-entropy + ||W||^2 / (2 C n), in float64."""
    z = x.astype(np.float64) @ w.T + b
    z -= z.max(1, keepdims=True)
    ce = np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]
    return ce.mean() + (w ** 2).sum() / (2 * C * len(y))


def test_matches_sklearn_logistic_regression():
    x, y = blobs()
    with Probe.train(x, y, C=0.5, tolerance=1e-8, ftol=0) as p:  # the gradient test alone: a tight solution
        info = p.training_info
        assert info.converged and info.gradient <= 1e-8
        assert (p.num_classes, p.num_features) == (3, 12)
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000, multi_class="multinomial").fit(x, y)
        w, b = p.weights()
        assert np.allclose(w, ref.coef_, atol=2e-4)
        assert np.allclose(b, ref.intercept_, atol=2e-4)
        # the objective both minimize: the head's minimum is at least as low as scikit-learn's
        assert info.objective <= objective(x, y, ref.coef_, ref.intercept_, 0.5) + 1e-12
        assert info.objective == pytest.approx(objective(x, y, w, b, 0.5), rel=1e-9)
        logits, classes = p.predict(x)
        assert logits.dtype == np.float32 and classes.dtype == np.int32
        assert np.allclose(logits, x @ ref.coef_.T + ref.intercept_, atol=1e-4)
        assert np.array_equal(classes, ref.predict(x))
        assert p.accuracy(x, y) == pytest.approx(ref.score(x, y))


def test_mask_zeroes_weights_and_matches_sklearn_on_masked_features():
    x, y = blobs()
    m = Mask.create(12)
    for i in (0, 5, 6):
        m.set(i)
    p = Probe.train(x, y, mask=m, options=ProbeOptions(C=2.0, tolerance=1e-8, ftol=0))
    w, _ = p.weights()
    assert np.all(w[:, [0, 5, 6]] == 0)
    xm = x * m.multiplier()
    ref = LogisticRegression(C=2.0, tol=1e-10, max_iter=10000).fit(xm, y)
    assert np.array_equal(p.predict(x)[1], ref.predict(xm))
    assert np.allclose(np.delete(w, [0, 5, 6], axis=1), np.delete(ref.coef_, [0, 5, 6], axis=1),
                       atol=5e-5)


def test_logit_auc_save_load_and_caller_buffers(tmp_path):
    x, y = blobs()
    p = Probe.train(x, y)
    wm = x + np.float32(0.7) * (np.arange(12) == 3)
    auc = p.logit_auc(x, wm)
    logits_clean, _ = p.predict(x)
    logits_wm, _ = p.predict(wm)
    assert auc.shape == (3,)
    assert auc[0] == pytest.approx(wmfeat.auc(logits_clean[:, 0], logits_wm[:, 0]))
    p.save(tmp_path / "head.wmfp")
    q = Probe.load(tmp_path / "head.wmfp")
    assert np.array_equal(q.weights()[0], p.weights()[0])
    logits = np.empty((120, 3), np.float32)
    classes = np.empty(120, np.int32)
    out = q.predict(x, logits=logits, classes=classes)
    assert out[0] is logits and out[1] is classes
    assert np.array_equal(logits, logits_clean)


def test_not_converged_and_errors(tmp_path):
    x, y = blobs()
    with pytest.raises(wmfeat.Error) as e:
        Probe.train(x, y, max_iterations=2, require_convergence=True)
    assert e.value.name == "WMF_ERR_LIMIT"
    with pytest.warns(wmfeat.ConvergenceWarning, match="not converged after 2 iterations"):
        p = Probe.train(x, y, max_iterations=2)
    assert not p.training_info.converged and p.training_info.iterations <= 2
    bad = y.copy()
    bad[0] = 5
    with pytest.raises(wmfeat.Error) as e:
        Probe.train(x, bad, num_classes=3)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    with pytest.raises(wmfeat.Error) as e:
        Probe.train(x, y, mask=Mask.create(11))
    assert e.value.name == "WMF_ERR_SHAPE"
    with pytest.raises(TypeError):
        ProbeOptions(speed=3)
    with pytest.raises(ValueError):
        p.predict(x[:, :5])
    (tmp_path / "junk.wmfp").write_bytes(b"\0" * 64)
    with pytest.raises(wmfeat.Error) as e:
        Probe.load(tmp_path / "junk.wmfp")
    assert e.value.name in ("WMF_ERR_CORRUPT", "WMF_ERR_UNSUPPORTED")


def test_curve_svg(tmp_path):
    p = np.array([0, 0.1, 0.2])
    wmfeat.write_curve_svg(tmp_path / "c.svg", p, [0.9, 0.88, 0.85], [0.7, 0.8, 0.84], title="curve",
                           extra=[0.8, 0.6, 0.55], extra_name="wm AUC")
    assert "<svg" in (tmp_path / "c.svg").read_text()
    with pytest.raises(ValueError):
        wmfeat.write_curve_svg(tmp_path / "c.svg", p, [0.9], [0.7, 0.8, 0.84])
