#!/usr/bin/python3
"""An estimate, on a CPU without bf16, of what the test bf16-ranking (check_bf16_ranking.py) measures on
one with it: the planted network of examples/data in torch, audited in fp32 and with bf16 rounding
emulated as libwmfeat's bf16 sessions store values (convolution weights, the inputs of every convolution
and the outputs of every batch norm, ReLU and max pool rounded to bfloat16; accumulation, the global pool,
the head and the outputs fp32), then the Spearman coefficient of the class AUCs (10) and of the channel
AUCs (128) of the two audits. Not a test: oneDNN's bf16 kernels round at other places (blocked layouts,
fused batch norm), so only the real run on bf16 hardware decides; see docs/audit.md, "bf16 audits".

    /usr/bin/python3 tests/audit/emulate_bf16_ranking.py build/lib/libwmfeat.so

Needs Debian's torch, torchvision, scikit-learn and scipy; the watermark comes from the library (--lib),
drawn as examples/wmfeat/planted.c draws it."""
import json
import pathlib
import struct
import sys

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

DATA = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data"
sys.path.insert(0, str(DATA))
import train_planted as tp  # noqa: E402  (the images, the watermark shim and the network of the planted data)


def load_safetensors(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header, base, out = json.loads(raw[8:8 + n]), 8 + n, {}
    for k, v in header.items():
        if k != "__metadata__":
            a, b = v["data_offsets"]
            dtype = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
            out[k] = torch.from_numpy(np.frombuffer(raw[base + a:base + b], dtype).reshape(v["shape"]).copy())
    return out


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


def run(model, images, emulate):
    """(logits, features) of uint8 images, in fp32 or with bf16 storage emulated."""
    features, hooks, weights = {}, [], {}
    hooks.append(model.avgpool.register_forward_hook(lambda m, i, o: features.__setitem__("f", o.flatten(1))))
    if emulate:
        for mod in model.modules():
            if isinstance(mod, torch.nn.Conv2d):
                weights[mod] = mod.weight.data
                mod.weight.data = bf16(mod.weight.data)
                hooks.append(mod.register_forward_pre_hook(lambda m, i: (bf16(i[0]),)))
            elif isinstance(mod, (torch.nn.BatchNorm2d, torch.nn.ReLU, torch.nn.MaxPool2d)):
                hooks.append(mod.register_forward_hook(lambda m, i, o: bf16(o)))
    try:
        with torch.no_grad():
            logits = model(tp.to_tensor(images)).numpy()
    finally:
        for h in hooks:
            h.remove()
        for mod, w in weights.items():
            mod.weight.data = w
    return logits, features["f"].numpy()


def aucs(clean, marked):
    labels = np.r_[np.zeros(len(clean)), np.ones(len(marked))]
    return np.array([roc_auc_score(labels, np.r_[clean[:, k], marked[:, k]]) for k in range(clean.shape[1])])


def main():
    torch.set_num_threads(2)
    model = tp.small_resnet()
    model.load_state_dict(load_safetensors(DATA / "planted_resnet.safetensors"))
    model.eval()
    digits = load_digits()
    test = np.flatnonzero(tp.split_of(len(digits.target)) == 1)
    clean = tp.make_images(digits.images.astype(np.uint8)[test], test)
    mark = tp.LibWatermark(sys.argv[1])
    marked = np.stack([mark(img, int(i)) for img, i in zip(clean, test)])  # seed = image index, as planted.c
    result = {}
    for emulate in (False, True):
        (lc, fc), (lw, fw) = run(model, clean, emulate), run(model, marked, emulate)
        result[emulate] = {"classes": aucs(lc, lw), "channels": aucs(fc, fw)}
    print(f"{len(test)} test pairs")
    for name in ("classes", "channels"):
        a, b = result[False][name], result[True][name]
        print(f"{name}: Spearman emulated bf16 vs fp32 {spearmanr(a, b).correlation:.4f} "
              f"(of |AUC - 0.5|: {spearmanr(abs(a - 0.5), abs(b - 0.5)).correlation:.4f}), "
              f"max |AUC difference| {abs(a - b).max():.2e}")
        if name == "classes":
            print("  fp32 AUCs:", " ".join(f"{x:.4f}" for x in a))
            print("  bf16 AUCs:", " ".join(f"{x:.4f}" for x in b))


if __name__ == "__main__":
    main()
