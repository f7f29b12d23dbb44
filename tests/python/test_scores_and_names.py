"""Scores are compared in the precision they come in (issue 11, item 19), and ImageNet's WordNet ids and
the architecture names are exposed (items 15, 18)."""
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import wmfeat


def sk_auc(neg, pos):
    return roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos])


def test_auc_keeps_float64_precision():
    neg, pos = np.ones(10), np.full(10, 1 + 1e-9)
    assert sk_auc(neg, pos) == 1.0
    assert wmfeat.auc(neg, pos) == 1.0  # was 0.5: both rounded to float32 1.0
    assert wmfeat.auc(list(neg), list(pos)) == 1.0
    assert wmfeat.auc(neg.astype(np.float32), pos.astype(np.float32)) == 0.5  # float32 in, float32 out
    rng = np.random.default_rng(5)
    for _ in range(20):  # values a few ulps (float64) apart, with ties, against sklearn exactly
        base = rng.integers(0, 4, 300) * 1e-12 + 1.0
        n, p = base[:140], base[140:] + rng.integers(0, 2, 160) * 2.3e-16
        assert wmfeat.auc(n, p) == pytest.approx(sk_auc(n, p), abs=1e-12)
        assert wmfeat.auc(n, p) != wmfeat.auc(n.astype(np.float32), p.astype(np.float32))
    mixed = wmfeat.auc(np.ones(4, np.float32), np.full(4, 1 + 1e-9))  # one float64 side: float64
    assert mixed == 1.0
    assert wmfeat.auc(np.array([1, 2], np.int64), np.array([3], np.int64)) == 1.0
    with pytest.raises(ValueError, match="float64"):
        wmfeat.auc(np.array([2**60 + 1], np.int64), np.array([2**60], np.int64))


def test_calls_that_store_float32_refuse_values_it_would_change():
    a = wmfeat.Audit.create(2, 3)
    cl = np.zeros((4, 2))
    f = np.zeros((4, 3))
    a.add(cl, cl + 0.5, f, f + 0.25)  # float64 holding float32 values: accepted
    with pytest.raises(ValueError, match=r"wm_logits: float64 value 1.000000001 at \(1, 0\)"):
        bad = cl.copy()
        bad[1, 0] = 1.000000001
        a.add(cl, bad, f, f)
    assert a.num_pairs == 4
    x = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    p = wmfeat.Probe.train(x, y)
    p.logit_auc(x.astype(np.float64), x + np.float32(1))
    with pytest.raises(ValueError, match="watermarked"):
        p.logit_auc(x, x.astype(np.float64) + 1e-9)


def test_imagenet_wordnet_ids_follow_the_class_order():
    wnids = [wmfeat.imagenet_wnid(i) for i in range(wmfeat.IMAGENET_CLASSES)]
    assert wmfeat.imagenet_wnid(1000) is None
    assert wnids[0] == "n01440764" and wnids[478] == "n02971356" and wnids == sorted(set(wnids))
    assert all(wmfeat.imagenet_index(w) == i for i, w in enumerate(wnids))
    with pytest.raises(KeyError):
        wmfeat.imagenet_index("n00000000")
    # the names in index order are torchvision's, and each id is the WordNet 3.0 synset of that name
    from torchvision.models._meta import _IMAGENET_CATEGORIES
    assert [wmfeat.imagenet_class_name(i) for i in range(1000)] == list(_IMAGENET_CATEGORIES)
    words = {}
    with open("/usr/share/wordnet/data.noun", encoding="latin-1") as f:  # Debian's wordnet-base
        for line in f:
            if not line.startswith("  "):
                fields = line.split()
                words["n" + fields[0]] = {re.sub(r"\(.*\)$", "", fields[4 + 2 * k]).replace("_", " ").lower()
                                          for k in range(int(fields[3], 16))}
    renamed = {"crane bird": "crane", "maillot tank suit": "tank suit"}  # torchvision made these unique
    for i, w in enumerate(wnids):
        name = wmfeat.imagenet_class_name(i)
        assert renamed.get(name, name).lower() in words[w], (i, w, name)


def test_arch_names():
    names = wmfeat.arch_names()
    assert names[0] == "resnet18" and "vgg16_bn" in names and "inception_v3" in names and "vit_b_16" in names
    families = ["resnet", "vgg", "densenet", "mobilenet", "shufflenet", "vit"]  # any configuration
    families += ["convnext", "regnet", "efficientnet"]
    assert all(f in names for f in families)
    assert "convnext_tiny" in names and "convnext_large" in names
    assert "regnet_x_400mf" in names and "regnet_y_128gf" in names
    assert "efficientnet_b0" in names and "efficientnet_v2_l" in names
    assert len(names) == len(set(names)) == 43 + 5 + 16 + 12  # + ConvNeXt's 4, RegNet's 15, EfficientNet's 11, each family's name
