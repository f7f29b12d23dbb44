import json
import pickle

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import wmfeat
from wmfeat import Audit, Order, Score, Target, _lib


def pairs(n=40, nc=6, nf=9, seed=0, labels=True):
    rng = np.random.default_rng(seed)
    cl = rng.normal(size=(n, nc)).astype(np.float32)
    wl = (cl + rng.normal(0.3, 1, size=(n, nc))).astype(np.float32)
    cf = np.maximum(0, rng.normal(size=(n, nf))).astype(np.float32)
    wf = np.maximum(0, cf + rng.normal(0.2, 0.5, size=(n, nf))).astype(np.float32)
    wf[:, 0] = cf[:, 0]  # a channel the watermark does not move
    lab = rng.integers(0, nc, n).astype(np.int32) if labels else None
    return cl, wl, cf, wf, lab


def make(data):
    cl, wl, cf, wf, lab = data
    a = Audit.create(cl.shape[1], cf.shape[1])
    a.add(cl, wl, cf, wf, lab)
    return a


def sk_auc(neg, pos):
    return roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos])


def test_auc_scores_match_sklearn():
    data = pairs()
    cl, wl, cf, wf, lab = data
    with make(data) as a:
        assert (a.num_classes, a.num_features, a.num_pairs, len(a)) == (6, 9, 40, 40)
        auc_c = a.scores(Target.CLASSES, Score.AUC)
        auc_f = a.scores(Target.CHANNELS, Score.AUC)
        assert auc_c.dtype == np.float64 and auc_c.shape == (6,)
        for j in range(6):
            assert auc_c[j] == pytest.approx(sk_auc(cl[:, j], wl[:, j]), abs=1e-12)
        for j in range(9):
            assert auc_f[j] == pytest.approx(sk_auc(cf[:, j], wf[:, j]), abs=1e-12)
        d = a.scores(Target.CHANNELS, Score.D)
        assert np.allclose(d, np.maximum(auc_f, 1 - auc_f))
        assert auc_f[0] == 0.5
        diff = a.scores(Target.CHANNELS, Score.MEAN_DIFF)
        assert np.allclose(diff, wf.astype(np.float64).mean(0) - cf.astype(np.float64).mean(0))
        acc_clean, acc_wm, labelled = a.accuracy()
        assert labelled == 40
        assert acc_clean == pytest.approx(np.mean(cl.argmax(1) == lab))
        assert acc_wm == pytest.approx(np.mean(wl.argmax(1) == lab))


def test_rank_and_count_above():
    with make(pairs()) as a:
        auc = a.scores(Target.CHANNELS, Score.AUC)
        order = a.rank(Target.CHANNELS, Score.AUC, Order.FROM_HALF)
        assert sorted(order.tolist()) == list(range(9))
        key = np.abs(auc - 0.5)
        assert np.all(np.diff(key[order]) <= 0)
        assert a.rank(Target.CHANNELS, Score.AUC, Order.FROM_HALF, k=3).tolist() == order[:3].tolist()
        d = a.scores(Target.CHANNELS, Score.D)
        for t in (0.6, 0.7, 0.8):
            assert a.count_above(Target.CHANNELS, Score.D, t) == int(np.sum(d > t))
        out = np.full(20, -7.0)
        assert a.scores(Target.CLASSES, Score.DELTA_PROB, out=out) is out
        assert np.all(out[6:] == -7.0)


def test_add_reads_float32_in_place_and_converts_others():
    cl, wl, cf, wf, lab = pairs()
    assert _lib.as_input(cl, np.float32) is cl  # no copy for float32 C-contiguous input
    a = make((cl, wl, cf, wf, lab))
    b = Audit.create(6, 9)
    # float64, Fortran order and int64 labels give the same audit once converted
    b.add(cl.astype(np.float64), np.asfortranarray(wl), cf.astype(np.float64), wf.tolist(),
          lab.astype(np.int64))
    assert a.to_bytes() == b.to_bytes()
    with pytest.raises(TypeError):
        b.add(cl, wl, cf, wf, lab.astype(np.float32))


def test_add_checks_shapes_before_calling_c():
    cl, wl, cf, wf, lab = pairs()
    a = Audit.create(6, 9)
    with pytest.raises(ValueError, match="wm_logits"):
        a.add(cl, wl[:-1], cf, wf, lab)
    with pytest.raises(ValueError, match="clean_features"):
        a.add(cl, wl, cf[:, :8], wf, lab)
    with pytest.raises(ValueError, match="labels"):
        a.add(cl, wl, cf, wf, lab[:3])
    features_only = Audit.create(0, 9)
    with pytest.raises(ValueError):
        features_only.add(cl, wl, cf, wf)
    features_only.add(clean_features=cf, wm_features=wf)
    assert features_only.num_pairs == 40
    assert a.num_pairs == 0


def test_errors_carry_status_names():
    cl, wl, cf, wf, lab = pairs()
    a = Audit.create(6, 9)
    with pytest.raises(wmfeat.Error) as e:
        a.scores(Target.CHANNELS, Score.AUC)
    assert e.value.name == "WMF_ERR_STATE"
    bad = cf.copy()
    bad[3, 4] = np.nan
    with pytest.raises(wmfeat.Error) as e:
        a.add(cl, wl, bad, wf, lab)
    assert e.value.name == "WMF_ERR_NUMERIC" and e.value.status == -16
    lab2 = lab.copy()
    lab2[0] = 6
    with pytest.raises(wmfeat.Error) as e:
        a.add(cl, wl, cf, wf, lab2)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    assert a.num_pairs == 0  # all or nothing
    a.add(cl, wl, cf, wf, lab)
    with pytest.raises(wmfeat.Error) as e:
        a.scores(Target.CHANNELS, Score.DELTA_PROB)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    with pytest.raises(wmfeat.Error) as e:
        a.merge(Audit.create(6, 8))
    assert e.value.name == "WMF_ERR_SHAPE"
    with pytest.raises(wmfeat.Error) as e:
        Audit.create(0, 0)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"


def test_save_load_bytes_pickle_and_merge_equal_one_run(tmp_path):
    cl, wl, cf, wf, lab = pairs(n=50)
    whole = make((cl, wl, cf, wf, lab))
    shards = [make((cl[s], wl[s], cf[s], wf[s], lab[s]))
              for s in (slice(0, 20), slice(20, 35), slice(35, 50))]
    merged = Audit.create(6, 9)
    for s in shards:
        merged.merge(pickle.loads(pickle.dumps(s)))
    assert merged.to_bytes() == whole.to_bytes()
    for score in Score:
        assert np.array_equal(merged.scores(Target.CLASSES, score), whole.scores(Target.CLASSES, score),
                              equal_nan=True)
    whole.save(tmp_path / "a.wmfa")
    back = Audit.load(tmp_path / "a.wmfa")
    assert back.to_bytes() == whole.to_bytes()
    assert Audit.from_bytes(whole.to_bytes()).num_pairs == 50
    damaged = bytearray(whole.to_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(wmfeat.Error) as e:
        Audit.from_bytes(bytes(damaged))
    assert e.value.name == "WMF_ERR_CORRUPT"


def test_empty_audit_pickles_and_merges():
    empty = Audit.create(6, 9)
    back = pickle.loads(pickle.dumps(empty))
    assert back.num_pairs == 0 and (back.num_classes, back.num_features) == (6, 9)
    full = make(pairs(n=10))
    full.merge(back)
    assert full.num_pairs == 10


def test_provenance_round_trip_check_and_merge_shards():
    cl, wl, cf, wf, lab = pairs(n=30)
    whole = make((cl, wl, cf, wf, lab))
    run = {"weights": "resnet18 0123456789abcdef", "seed": "0", "recipe": "text=\"x\" opacity=0.5"}
    whole.provenance = dict(run, shard="0/1")
    whole.items_done = 33
    shards = []
    for i, s in enumerate((slice(0, 10), slice(10, 20), slice(20, 30))):
        a = make((cl[s], wl[s], cf[s], wf[s], lab[s]))
        a.provenance = dict(run, shard=f"{i}/3")
        a.items_done = 11
        shards.append(pickle.loads(pickle.dumps(a)))  # provenance and items_done travel with the state
    assert shards[1].provenance == dict(run, shard="1/3") and shards[1].items_done == 11
    merged = Audit.merge_shards([shards[2], shards[0], shards[1]])
    assert merged.to_bytes() == whole.to_bytes()
    with pytest.raises(wmfeat.Error, match="shard 2/3 is missing") as e:
        Audit.merge_shards(shards[:2])
    assert e.value.name == "WMF_ERR_MISMATCH" and e.value.status == -17
    with pytest.raises(wmfeat.Error, match="given twice"):
        Audit.merge_shards([shards[0], shards[0], shards[1]])
    whole.check_provenance(dict(run, shard="0/1"))
    with pytest.raises(wmfeat.Error, match=r"seed differs \(state: 0, now: 4\)"):
        whole.check_provenance(dict(run, shard="0/1", seed="4"))
    whole.provenance = {"seed": None}
    assert "seed" not in whole.provenance
    with pytest.raises(wmfeat.Error) as e:
        whole.provenance = {"Bad Key": "x"}
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"


def test_list_fingerprint():
    a = wmfeat.list_fingerprint(["a/x.jpg", "b/y.jpg"])
    assert a.startswith("2 ") and len(a) == 18
    assert a == wmfeat.list_fingerprint(["a/x.jpg", "b/y.jpg"], [-1, -1])
    assert a != wmfeat.list_fingerprint(["a/x.jpg", "b/y.jpg"], [0, 1])
    assert a != wmfeat.list_fingerprint(["b/y.jpg", "a/x.jpg"])
    assert wmfeat.list_fingerprint([]).startswith("0 ")
    assert wmfeat.relative_to_input("/data/val/n01/x.jpg", "/data/val") == "n01/x.jpg"
    assert wmfeat.relative_to_input("/data/val/n01/x.jpg", "/data/val/") == "n01/x.jpg"
    assert wmfeat.relative_to_input("/data/valx/y.jpg", "/data/val") == "/data/valx/y.jpg"


def test_class_names_and_imagenet():
    assert wmfeat.imagenet_class_name(478) == "carton"
    assert wmfeat.imagenet_class_name(1000) is None
    with Audit.create(1000, 0) as a:
        assert a.class_name(664) == wmfeat.imagenet_class_name(664)
        assert len(a.class_names) == 1000
    with Audit.create(3, 2) as a:
        assert a.class_names is None
        a.class_names = ["un", "deux", "trois"]
        assert a.class_names == ["un", "deux", "trois"] and a.class_name(1) == "deux"
        with pytest.raises(wmfeat.Error) as e:
            a.class_names = ["un"]
        assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
        a.class_names = None
        assert a.class_name(0) is None


def test_reports(tmp_path):
    with make(pairs()) as a:
        a.class_names = [f"c{i}" for i in range(6)]
        a.write_json(tmp_path / "r.json")
        a.write_csv(Target.CHANNELS, tmp_path / "ch.csv")
        a.write_svg_classes(tmp_path / "c.svg", Score.AUC, Order.FROM_HALF, 4)
        a.write_svg_histogram(tmp_path / "h.svg", Target.CHANNELS, Score.AUC, 10)
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["num_pairs"] == 40
        assert report["channels"]["auc"] == pytest.approx(a.scores(Target.CHANNELS, Score.AUC).tolist())
        assert len((tmp_path / "ch.csv").read_text().splitlines()) == 10
        assert "<svg" in (tmp_path / "c.svg").read_text() and "<svg" in (tmp_path / "h.svg").read_text()
        with pytest.raises(wmfeat.Error) as e:
            a.write_json(tmp_path / "no" / "such" / "dir.json")
        assert e.value.name == "WMF_ERR_IO"


def test_auc_function():
    rng = np.random.default_rng(3)
    neg = rng.integers(0, 5, 30).astype(np.float32)  # many ties
    pos = rng.integers(1, 6, 25).astype(np.float32)
    assert wmfeat.auc(neg, pos) == pytest.approx(sk_auc(neg, pos), abs=1e-15)
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.auc([], pos)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
