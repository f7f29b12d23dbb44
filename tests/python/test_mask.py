import json

import numpy as np
import pytest

import wmfeat
from wmfeat import Mask, Rank


def scores(n=50, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, n)


def test_top_k_matches_numpy_ranking():
    s = scores()
    with Mask.top_k(s, 7) as m:
        key = np.abs(s - 0.5)
        expected = np.sort(np.argsort(-key, kind="stable")[:7])
        assert m.count == 7 and len(m) == m.num_features == 50
        assert m.indices().tolist() == expected.tolist()
        mult = m.multiplier()
        assert mult.dtype == np.float32
        assert np.array_equal(mult, np.where(np.isin(np.arange(50), expected), 0, 1).astype(np.float32))
        assert all(m.is_masked(i) == (i in expected) for i in range(50))
        assert expected[0] in m
    with Mask.top_k(s, 5, Rank.BY_VALUE) as m:
        assert m.indices().tolist() == np.sort(np.argsort(-s, kind="stable")[:5]).tolist()


def test_fraction_threshold_and_nan():
    s = scores(40)
    assert Mask.top_fraction(s, 0.25).count == 10
    assert Mask.top_fraction(s, 0.0).count == 0
    t = Mask.threshold(s, 0.3, Rank.BY_FROM_HALF)
    assert t.indices().tolist() == np.flatnonzero(np.abs(s - 0.5) > 0.3).tolist()
    s[3] = np.nan
    assert 3 not in Mask.top_k(s, 40).indices().tolist()
    with pytest.raises(wmfeat.Error) as e:
        Mask.top_fraction(s, 1.5)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    with pytest.raises(wmfeat.Error) as e:
        Mask.top_k(s, 41)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"


def test_apply_in_place():
    m = Mask.top_k(scores(), 10)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 50)).astype(np.float32)
    ref = x * m.multiplier()
    assert m.apply(x) is x
    assert np.array_equal(x, ref)
    v = rng.normal(size=50).astype(np.float32)
    ref = v * m.multiplier()
    m.apply(v)
    assert np.array_equal(v, ref)
    with pytest.raises(ValueError):
        m.apply(x.astype(np.float64))  # cannot be modified in place
    with pytest.raises(ValueError):
        m.apply(np.zeros((2, 100), np.float32)[:, ::2])  # not C-contiguous
    with pytest.raises(wmfeat.Error) as e:
        m.apply(np.zeros((2, 49), np.float32))
    assert e.value.name == "WMF_ERR_SHAPE"


def test_set_union_intersection():
    a = Mask.create(10)
    a.set(1)
    a.set(4)
    b = Mask.create(10)
    b.set(4)
    b.set(7)
    assert (a | b).indices().tolist() == [1, 4, 7]
    assert a.intersection(b).indices().tolist() == [4]
    a.set(1, False)
    assert a.indices().tolist() == [4]
    with pytest.raises(wmfeat.Error) as e:
        a.union(Mask.create(11))
    assert e.value.name == "WMF_ERR_SHAPE"
    with pytest.raises(wmfeat.Error) as e:
        a.set(10)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"


def test_files_load_with_numpy_and_json(tmp_path):
    s = scores()
    m = Mask.top_fraction(s, 0.2)
    m.save_npy(tmp_path / "m.npy")
    m.save_json(tmp_path / "m.json")
    mult = np.load(tmp_path / "m.npy")
    assert mult.dtype == np.float32 and np.array_equal(mult, m.multiplier())
    j = json.loads((tmp_path / "m.json").read_text())
    assert j["masked"] == m.indices().tolist() and j["rank"] == "from_half"
    assert np.allclose(j["scores"], s)
    assert Mask.load_json(tmp_path / "m.json").indices().tolist() == m.indices().tolist()
    keep = np.ones(50, bool)
    keep[[2, 9]] = False
    np.save(tmp_path / "k.npy", keep)
    assert Mask.load_npy(tmp_path / "k.npy").indices().tolist() == [2, 9]
    np.save(tmp_path / "bad.npy", np.full(5, 0.5, np.float32))
    with pytest.raises(wmfeat.Error) as e:
        Mask.load_npy(tmp_path / "bad.npy")
    assert e.value.name == "WMF_ERR_CORRUPT"
