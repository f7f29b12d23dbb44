"""Mark My Words' mask rule (notebook "3.1 Cal-Tech256 training.ipynb", class DenseNet161 of model.py):

    a = torch.quantile((aucs[0]-0.5).abs(), 1-percentile, dim=0, keepdim=True)
    self.ommited_indx = ((aucs[0]-0.5).abs() > a).nonzero()

re-typed here as the reference and run with torch itself, at the paper's fractions on 2,208 channels
(DenseNet-161's feature count) whose AUCs have ties, as AUCs of 998 pairs do."""
import numpy as np
import pytest
import torch

from wmfeat import Mask, Rank

PAPER_P = [0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.25, 0.5]


def notebook_rule(aucs, percentile):
    """The notebook's lines with float64 AUCs (the library computes in double)."""
    aucs = torch.from_numpy(aucs)
    if percentile == 0.:
        return np.array([], np.int64), None  # the notebook masks nothing at p = 0
    a = torch.quantile((aucs - 0.5).abs(), 1 - percentile, dim=0, keepdim=True)
    return ((aucs - 0.5).abs() > a).nonzero().reshape(-1).numpy(), float(a)


def aucs_with_ties(n=2208, pairs=998, seed=5):
    """AUCs as an audit of `pairs` pairs gives them: twice-U over 2 pairs^2, many tied; plus exact
    ties forced at the top and a dead channel block at 0.5."""
    rng = np.random.default_rng(seed)
    u2 = np.round(rng.normal(pairs * pairs, 0.25 * pairs * pairs, n)).clip(0, 2 * pairs * pairs)
    u2 = (u2 // 2000) * 2000  # coarse: many ties
    aucs = u2 / (2.0 * pairs * pairs)
    aucs[:40] = aucs[40]       # a tie block
    aucs[100:300] = 0.5        # dead channels
    aucs[500:520] = 1 - aucs[520]  # the same key from both sides of 0.5
    return aucs


@pytest.mark.parametrize("p", PAPER_P)
def test_quantile_rule_equals_torch(p):
    aucs = aucs_with_ties()
    want, thr = notebook_rule(aucs, p)
    m = Mask.quantile(aucs, p, Rank.BY_FROM_HALF)
    assert m.indices().tolist() == want.tolist()
    if thr is not None:
        assert m.threshold_used == thr  # the interpolated quantile itself, bit for bit


def test_quantile_rule_equals_torch_on_distinct_and_adversarial_keys():
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 101, 2208):
        for _ in range(3):
            aucs = rng.uniform(0, 1, n)
            for p in PAPER_P + [1e-9, 0.3333, 0.9, 1.0]:
                want, thr = notebook_rule(aucs, p)
                m = Mask.quantile(aucs, p)
                assert m.indices().tolist() == want.tolist(), (n, p)
                if thr is not None:
                    assert m.threshold_used == thr, (n, p)
    # keys on a grid so that the quantile lands exactly on a key: ties with it are kept
    aucs = 0.5 + np.repeat(np.arange(11) / 40.0, 10)
    for p in (0.1, 0.2, 0.25, 0.5):
        want, _ = notebook_rule(aucs, p)
        assert Mask.quantile(aucs, p).indices().tolist() == want.tolist()


def test_quantile_rule_against_the_count_rule():
    """The difference to wmf_mask_top_fraction's floor(p n + 1/2) on 2,208 distinct keys (docs/audit.md)."""
    aucs = np.random.default_rng(2).uniform(0, 1, 2208)
    rows = []
    for p in PAPER_P[1:]:
        q = Mask.quantile(aucs, p).count
        c = Mask.top_fraction(aucs, p).count
        rows.append((p, c, q))
        assert q == len(notebook_rule(aucs, p)[0])
        assert c == int(np.floor(p * 2208 + 0.5))
        assert abs(q - c) <= 1
        # with distinct keys, the quantile rule masks exactly the channels above position (1-p)(n-1)
        assert q == 2208 - 1 - int(np.floor((1 - p) * 2207))
    assert sum(q != c for _, c, q in rows) == 6, rows  # 6 of the 9 paper fractions differ


def test_quantile_rule_nan_and_json(tmp_path):
    aucs = np.random.default_rng(3).uniform(0, 1, 50)
    aucs[[0, 7]] = np.nan
    finite = np.delete(aucs, [0, 7])
    want, thr = notebook_rule(finite, 0.2)  # NaN left out of the quantile (torch.nanquantile)
    m = Mask.quantile(aucs, 0.2)
    assert m.indices().tolist() == [i + (i >= 0) + (i >= 6) for i in want.tolist()]
    assert 0 not in m and 7 not in m and m.threshold_used == thr
    m.save_json(tmp_path / "m.json")
    import json
    rule = json.loads((tmp_path / "m.json").read_text())["rule"]
    assert rule == {"name": "quantile", "fraction": 0.2, "threshold": thr}
    assert Mask.quantile(aucs, 0.0).count == 0 and np.isnan(Mask.top_k(aucs, 3).threshold_used)


def test_threshold_is_torch_quantile_bit_for_bit():
    """torch.quantile on x86-64 interpolates with fused multiply-adds (ATen's vectorized lerp); numpy
    does not, and the two differ in the last bit in about 2 % of cases. The mask rule follows torch."""
    rng = np.random.default_rng(21)
    differs_from_numpy = 0
    for _ in range(2000):
        n = int(rng.integers(2, 60))
        keys = rng.uniform(0, 1, n)
        p = float(rng.uniform(0, 1))
        thr = float(torch.quantile(torch.from_numpy(keys), 1 - p))
        assert Mask.quantile(keys, p, Rank.BY_VALUE).threshold_used == thr
        differs_from_numpy += float(np.quantile(keys, 1 - p)) != thr
    assert differs_from_numpy > 0  # the test would not notice an unfused lerp otherwise
