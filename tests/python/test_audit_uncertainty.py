"""Uncertainty of the audit (docs/audit.md, "Uncertainty"): Benjamini-Hochberg against a re-typed
reference (R's p.adjust(p, "BH"); scipy.stats.false_discovery_control only exists from scipy 1.11,
Debian 12 ships 1.10), p-values against scipy's paired Wilcoxon test, and bootstrap intervals against
numpy with the same resampling indices (the library's splitmix64 draws, re-typed below)."""
import json

import numpy as np
import pytest
import scipy.stats

import wmfeat
from wmfeat import Audit, Score, Target


def bh_reference(p):
    """R's stats::p.adjust(p, "BH"), re-typed: NA kept and left out of n;
    i <- lp:1L; o <- order(p, decreasing = TRUE); ro <- order(o); pmin(1, cummin(n/i * p[o]))[ro]"""
    p = np.asarray(p, np.float64)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    n = pv.size
    i = np.arange(n, 0, -1)
    o = np.argsort(-pv, kind="stable")
    ro = np.argsort(o, kind="stable")
    q[ok] = np.minimum(1, np.minimum.accumulate(n / i * pv[o]))[ro]
    return q


def test_benjamini_hochberg_equals_the_reference():
    rng = np.random.default_rng(4)
    for n in (1, 2, 10, 1000):
        p = rng.uniform(0, 1, n) ** 3
        p[rng.integers(0, n, n // 5)] = 0.01  # ties
        if n > 2:
            p[[0, 2]] = np.nan
        np.testing.assert_allclose(wmfeat.benjamini_hochberg(p), bh_reference(p), rtol=1e-15, atol=0)
        assert np.array_equal(np.isnan(wmfeat.benjamini_hochberg(p)), np.isnan(p))
    q = wmfeat.benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(q, [0.02, 0.04, 0.04, 0.02])  # worked by hand: 4/1*.005, 4/2*.01, 4/3*.03, .04
    with pytest.raises(wmfeat.Error):
        wmfeat.benjamini_hochberg([0.5, 1.5])


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def resample(seed, b, n):
    """Pair indices of resample b: floor(u n / 2^64), u = splitmix64(seed * 0xD1B54A32D192ED03 + b n + k)."""
    with np.errstate(over="ignore"):
        base = np.uint64(seed) * np.uint64(0xD1B54A32D192ED03) + np.uint64(b * n)
        u = splitmix64(base + np.arange(n, dtype=np.uint64))
    return np.array([(int(v) * n) >> 64 for v in u], np.int64)


def exact_auc(neg, pos):
    return scipy.stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic / (len(neg) * len(pos))


def softmax(logits):
    z = logits.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    n, C, F = 30, 5, 7
    cl = np.round(rng.normal(size=(n, C)) * 4) / 4  # a 0.25 grid: many ties
    wl = cl + np.round(rng.normal(0.3, 1, size=(n, C)) * 4) / 4
    wl[:, 2] += 2  # one class the watermark raises
    cf = np.round(rng.gamma(1, 1, size=(n, F)) * 4) / 4
    wf = np.round((cf + rng.normal(0.2, 0.5, size=(n, F))).clip(0) * 4) / 4
    cf[:, 3] = wf[:, 3] = 1.5  # a dead channel: every difference 0
    a = Audit.create(C, F)
    a.add(cl, wl, cf, wf)
    return a, [x.astype(np.float32) for x in (cl, wl, cf, wf)]


def reference_p(x, y):
    """scipy's paired Wilcoxon p-value as the library chooses it: exact for at most 50 pairs whose
    differences are non-zero and untied, else the normal approximation (zeros dropped, tie-corrected,
    no continuity correction); None when every difference is 0."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    d = y - x
    if not d.any():
        return None
    exact = len(d) <= 50 and d.all() and len(np.unique(np.abs(d))) == len(d)
    return scipy.stats.wilcoxon(y, x, zero_method="wilcox", correction=False,
                                method="exact" if exact else "approx").pvalue


def check_p_values(a, pairs):
    for target, x, y in pairs:
        p, q = a.p_values(target)
        for j in range(x.shape[1]):
            ref = reference_p(x[:, j], y[:, j])
            if ref is None:
                assert np.isnan(p[j])  # no test: left out of the correction
            else:
                assert p[j] == pytest.approx(ref, rel=1e-12), (target, j)
        np.testing.assert_allclose(q, bh_reference(p), rtol=1e-15)


def test_p_values_are_scipys_paired_wilcoxon(data):
    a, (cl, wl, cf, wf) = data
    check_p_values(a, ((Target.CLASSES, cl, wl), (Target.CHANNELS, cf, wf)))


@pytest.mark.parametrize("n", [1, 3, 8, 20, 50, 51])
def test_p_values_exact_for_few_untied_pairs(n):
    """Eight pairs, as the issue's example: the exact test (scipy method="exact") where it applies."""
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x + rng.normal(0.8, 1, size=(n, 6))).astype(np.float32)
    y[:, 0] = x[:, 0] + 1  # every difference 1: tied magnitudes, normal approximation
    y[0, 1] = x[0, 1]      # one zero difference: normal approximation
    y[:, 2] = x[:, 2] + np.arange(1, n + 1)  # all raised, distinct: the smallest p there is
    a = Audit.create(0, 6)
    a.add(clean_features=x, wm_features=y)
    check_p_values(a, ((Target.CHANNELS, x, y),))
    p, _ = a.p_values(Target.CHANNELS)
    if n == 8:
        assert p[2] == 2 / 256  # exact: the normal approximation would say 0.0117


def test_bootstrap_intervals_equal_numpy_with_the_same_indices(data):
    a, (cl, wl, cf, wf) = data
    B, seed, level = 200, 12345, 0.9
    a.set_bootstrap(B, seed, level)
    n = cl.shape[0]
    idx = [resample(seed, b, n) for b in range(B)]
    qs = [(1 - level) / 2, (1 + level) / 2]
    for target, x, y in ((Target.CLASSES, cl, wl), (Target.CHANNELS, cf, wf)):
        lo, hi = a.interval(target, Score.AUC)
        for j in range(x.shape[1]):
            v = [exact_auc(x[i, j], y[i, j]) for i in idx]
            ref = np.quantile(v, qs)
            assert (lo[j], hi[j]) == (ref[0], ref[1]), (target, j)  # exact: same draws, exact U
    d = softmax(wl) - softmax(cl)
    lo, hi = a.interval(Target.CLASSES, Score.DELTA_PROB)
    for j in range(cl.shape[1]):
        ref = np.quantile([d[i, j].mean() for i in idx], qs)
        np.testing.assert_allclose([lo[j], hi[j]], ref, rtol=1e-12, atol=1e-15)
    # the raised class: its interval lies above 0.5; the dead channel's is the point 0.5
    alo, ahi = a.interval(Target.CLASSES)
    assert alo[2] > 0.5
    clo, chi = a.interval(Target.CHANNELS)
    assert clo[3] == chi[3] == 0.5
    # another seed gives other intervals; the same settings the same ones
    a.set_bootstrap(B, seed + 1, level)
    assert not np.array_equal(a.interval(Target.CHANNELS)[0], clo)
    a.set_bootstrap(B, seed, level)
    assert np.array_equal(a.interval(Target.CHANNELS)[0], clo)


def test_bootstrap_coverage_is_roughly_nominal():
    """A distributional check: 95 % intervals of an AUC whose true value is known (paired normal
    columns with a known shift) cover it in roughly 95 % of 200 independent columns."""
    rng = np.random.default_rng(1)
    n, F, shift = 60, 200, 0.5
    x = rng.normal(size=(n, F)).astype(np.float32)  # the audit keeps float32 (float64 would be refused)
    y = (rng.normal(size=(n, F)) + shift).astype(np.float32)  # independent twins: true AUC = Phi(shift / sqrt 2)
    true_auc = scipy.stats.norm.cdf(shift / np.sqrt(2))
    a = Audit.create(0, F)
    a.add(clean_features=x, wm_features=y)
    a.set_bootstrap(500, 3, 0.95)
    lo, hi = a.interval(Target.CHANNELS)
    coverage = np.mean((lo <= true_auc) & (true_auc <= hi))
    assert 0.85 <= coverage <= 0.99, coverage


def test_interval_errors(data):
    a, _ = data
    b = Audit.create(3, 2)
    b.add(np.zeros((2, 3)), np.ones((2, 3)), np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(wmfeat.Error) as e:
        b.interval(Target.CLASSES)
    assert e.value.name == "WMF_ERR_STATE"  # no bootstrap set
    b.set_bootstrap(10)
    with pytest.raises(wmfeat.Error) as e:
        b.interval(Target.CHANNELS, Score.DELTA_PROB)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    with pytest.raises(wmfeat.Error):
        b.set_bootstrap(10, 0, 1.0)


def test_reports_carry_p_q_and_intervals(data, tmp_path):
    a, _ = data
    a.set_bootstrap(100, 7, 0.95)
    a.write_json(tmp_path / "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    p, q = a.p_values(Target.CLASSES)
    lo, hi = a.interval(Target.CLASSES)
    got = np.array(r["classes"]["q_value"], dtype=np.float64)
    np.testing.assert_array_equal(got, q)
    assert r["classes"]["auc_lo"] == lo.tolist() and r["classes"]["auc_hi"] == hi.tolist()
    assert r["bootstrap"] == {"resamples": 100, "seed": 7, "level": 0.95,
                              "method": "percentile; pairs resampled with replacement"}
    assert r["significance"]["fdr"] == wmfeat.FDR
    assert r["significance"]["classes"]["significant"] == int(np.sum(q < wmfeat.FDR))
    d = a.scores(Target.CLASSES, Score.D)
    assert r["significance"]["classes"]["significant_above"] == [
        int(np.sum((q < wmfeat.FDR) & (d > t))) for t in wmfeat.D_THRESHOLDS]
    assert r["thresholds"] == list(wmfeat.D_THRESHOLDS)
    a.write_csv(Target.CHANNELS, tmp_path / "c.csv")
    header = (tmp_path / "c.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == ["p_value", "q_value", "auc_lo", "auc_hi"]
    a.set_bootstrap(0)
    a.write_csv(Target.CLASSES, tmp_path / "k.csv")
    assert (tmp_path / "k.csv").read_text().splitlines()[0].endswith("acc_gap,clean_prob,wm_prob,delta_prob_labelled,p_value,q_value")
    a.write_json(tmp_path / "r0.json")
    r0 = json.loads((tmp_path / "r0.json").read_text())
    assert r0["bootstrap"] is None and "auc_lo" not in r0["classes"]


def test_d_thresholds_match_the_header():
    import pathlib, re
    header = (pathlib.Path(__file__).resolve().parents[2] / "include/wmfeat/audit.h").read_text()
    m = re.search(r"#define WMF_AUDIT_D_THRESHOLDS \{([^}]*)\}", header)
    assert tuple(float(v) for v in m.group(1).split(",")) == wmfeat.D_THRESHOLDS
    assert f"#define WMF_AUDIT_FDR {wmfeat.FDR}" in header


def test_threshold_count_figure(tmp_path):
    wmfeat.write_svg_threshold_counts(tmp_path / "c.svg", ["resnet18", "vgg <16>"],
                                      [[10, 5, 2, 1], [3, 0, 0, 0]], title="Chinese", y_label="classes")
    svg = (tmp_path / "c.svg").read_text()
    assert "vgg &lt;16&gt;" in svg and svg.count("<rect") >= 8 and "d &gt; 0.95: 1<" in svg
    with pytest.raises(ValueError):
        wmfeat.write_svg_threshold_counts(tmp_path / "c.svg", ["a"], [[1, 2, 3]])
    with pytest.raises(wmfeat.Error):
        wmfeat.write_svg_threshold_counts(tmp_path / "c.svg", ["a"], [[1, 2, np.nan, 0]])
