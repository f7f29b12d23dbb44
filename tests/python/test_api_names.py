"""The names of docs/api-style.md in the binding: the 1.1 count names are the primary properties and the
1.0 ones still give the same values; masks are built with the canonical Order (wmf_mask_select) as with
the 1.0 Rank; the d thresholds come from the library and equal the header's WMF_AUDIT_D_THRESHOLDS."""
import re
import sys

import numpy as np
import pytest

import wmfeat
from conftest import ROOT
from wmfeat import Audit, Mask, Model, Order, Probe, Rank, Rule, Weights


def test_d_thresholds_are_the_headers():
    text = (ROOT / "include" / "wmfeat" / "audit.h").read_text()
    values = re.search(r"#define WMF_AUDIT_D_THRESHOLDS \{([^}]*)\}", text).group(1)
    count = int(re.search(r"#define WMF_AUDIT_D_THRESHOLD_COUNT (\d+)", text).group(1))
    assert wmfeat.D_THRESHOLDS == tuple(float(v) for v in values.split(","))
    assert len(wmfeat.D_THRESHOLDS) == count == 4
    assert wmfeat.D_THRESHOLDS == (0.7, 0.8, 0.9, 0.95)


def test_audit_counts():
    with Audit.create(3, 5) as a:
        a.add(np.zeros((2, 3)), np.ones((2, 3)), np.zeros((2, 5)), np.ones((2, 5)))
        assert (a.class_count, a.feature_count, a.pair_count) == (3, 5, 2)
        assert (a.num_classes, a.num_features, a.num_pairs) == (3, 5, 2)
        assert len(a) == 2


def test_mask_counts_and_select():
    s = np.array([0.5, 0.91, 0.2, -0.3, 0.62, np.nan, 0.05, 0.5, 0.74])
    with Mask.top_k(s, 2) as m:
        assert (m.feature_count, m.masked_count) == (9, 2)
        assert (m.num_features, m.count, len(m)) == (9, 2, 9)  # 1.0 names: count is the MASKED channels
    pairs = [(Order.DESCENDING, Rank.BY_VALUE), (Order.ABS, Rank.BY_ABS), (Order.FROM_HALF, Rank.BY_FROM_HALF)]
    builders = [(Mask.top_k, Rule.TOP_K, 3), (Mask.top_fraction, Rule.TOP_FRACTION, 0.3),
                (Mask.quantile, Rule.QUANTILE, 0.25), (Mask.threshold, Rule.THRESHOLD, 0.4)]
    for order, rank in pairs:
        for build, rule, value in builders:
            with build(s, value, rank) as old, build(s, value, order) as new, \
                    Mask.select(s, rule, value, order) as sel:
                assert old.indices().tolist() == new.indices().tolist() == sel.indices().tolist(), (order, rule)
                assert np.array_equal(old.threshold_used, sel.threshold_used, equal_nan=True)
            with Mask.select(s, Rule.TOP_K, 3, rank) as by_rank, Mask.select(s, Rule.TOP_K, 3, order) as by_order:
                assert by_rank.indices().tolist() == by_order.indices().tolist()  # a Rank means its key
    # the same number means another key in the two enums: Order.ABS (2) is |s|, Rank 2 is |s - 0.5|
    with Mask.top_k(s, 1, Order.ABS) as a, Mask.top_k(s, 1, 2) as b:
        assert a.indices().tolist() == [1] and b.indices().tolist() == [3]
    with pytest.raises(wmfeat.Error) as e:
        Mask.select(s, Rule.TOP_K, 1, Order.ASCENDING)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT" and "WMF_RANK_ASCENDING" in str(e.value)
    with pytest.raises(wmfeat.Error):
        Mask.select(s, Rule.TOP_K, 1.5)


def test_probe_counts():
    x = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1]], np.float32)
    with Probe.train(x, [0, 1, 2, 1]) as p:
        assert (p.class_count, p.feature_count) == (3, 3)
        assert (p.num_classes, p.num_features) == (3, 3)


def test_weights_model_session_counts(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "nn"))
    from gen_hostile_models import resnet_basic
    from safetensors_writer import serialize

    sd = resnet_basic()
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(serialize(sd))
    with Weights.open(path) as w:
        assert w.tensor_count == len(w) == len(sd) - sum(k.endswith("num_batches_tracked") for k in sd)
    with Model.open(path) as model:
        assert model.class_count == model.num_classes == 5
        with model.session(input_size=32, stage="layer1") as s:
            assert s.stage_feature_count == s.stage_count == 4
            assert s.feature_count == 8
