#!/usr/bin/python3
"""The reference of the end-to-end audit benchmark: the script a researcher writes to audit a
ResNet-50 for the ImageNet-W watermark with torchvision + PIL + scikit-learn, doing the work of
`wmfeat audit WEIGHTS FOLDER --resize 256 --crop 224 --batch 16 --threads 2` (its default preset,
imagenet-w):

  for each image (sorted paths): PIL open -> RGB -> Resize(256) -> CenterCrop(224) = the clean crop;
  the watermarked twin: ImageNet-W's AddWatermark(224) on that crop (github facebookresearch/Whac-A-Mole,
  imagenet_w/watermark_transform.py: "捷径捷径捷径", Source Han Serif SC ExtraLight at 36 px (here
  Debian's Noto Serif CJK SC ExtraLight, face 2 of NotoSerifCJK-ExtraLight.ttc, as the library and its
  tests use), white at alpha round(0.5 * 255) on a transparent layer at (0.01 W, 0.4 H), alpha_composite);
  both through ToTensor + Normalize(ImageNet mean, std); batches of 16 pairs through an eager
  torchvision ResNet-50 (torch.set_num_threads(2)), penultimate features from a forward hook on avgpool;
  then per class (logit) and per feature channel sklearn's roc_auc_score(clean vs watermarked).

It loads the same safetensors file (read with numpy from a memory map: Debian packages no `safetensors`
for torch). It is a benchmark's reference, deliberately plain: no DataLoader workers, no JIT.

Usage: bench_e2e_reference.py WEIGHTS.safetensors FOLDER [--batch 16] [--threads 2] [--save OUT.npz]
Prints the number of pairs, the top classes by |AUC - 0.5| and the counts of d > 0.7 / 0.8 / 0.9 / 0.95;
--save writes the class and channel AUCs (for comparing with the library's classes.csv / channels.csv).
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw, ImageFont
from sklearn.metrics import roc_auc_score
from torchvision import transforms

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-ExtraLight.ttc"
FONT_INDEX = 2  # Noto Serif CJK SC ExtraLight
EXTENSIONS = (".jpg", ".jpeg", ".png")


def load_safetensors(path):
    """name -> torch tensor (float32 files only, as the benchmark writes them), from a memory map."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="c", offset=8 + n)  # copy-on-write: torch wants writable arrays
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {t['dtype']}, this script reads F32 only")
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]))
    return out


def add_watermark(img, font, size=224):
    """ImageNet-W's _add_watermark with its defaults for a crop of `size`."""
    img = img.convert("RGBA")
    layer = Image.new("RGBA", img.size, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((0.01 * img.size[0], 0.4 * img.size[1]), "捷径捷径捷径",
                               fill=(255, 255, 255, round(0.5 * 255)), font=font)
    return Image.alpha_composite(img, layer).convert("RGB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("folder")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    model = torchvision.models.resnet50(weights=None)
    model.load_state_dict(load_safetensors(a.weights))
    model.eval()
    hooked = []
    model.avgpool.register_forward_hook(lambda mod, inp, out: hooked.append(torch.flatten(out, 1)))

    font = ImageFont.truetype(FONT, 36, index=FONT_INDEX)  # AddWatermark(224): {224: 36}
    crop = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    to_input = transforms.Compose([transforms.ToTensor(),
                                   transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.folder) for f in fs
                   if f.lower().endswith(EXTENSIONS))
    logits, features = {"clean": [], "wm": []}, {"clean": [], "wm": []}
    with torch.no_grad():
        for i in range(0, len(paths), a.batch):
            clean, marked = [], []
            for p in paths[i:i + a.batch]:
                c = crop(Image.open(p).convert("RGB"))
                clean.append(to_input(c))
                marked.append(to_input(add_watermark(c, font)))
            for side, x in (("clean", clean), ("wm", marked)):
                hooked.clear()
                logits[side].append(model(torch.stack(x)).numpy())
                features[side].append(hooked[0].numpy())

    y = np.r_[np.zeros(len(paths)), np.ones(len(paths))]
    aucs = {}
    for what, values in (("classes", logits), ("channels", features)):
        clean, wm = np.concatenate(values["clean"]), np.concatenate(values["wm"])
        aucs[what] = np.array([roc_auc_score(y, np.r_[clean[:, j], wm[:, j]]) for j in range(clean.shape[1])])

    print(f"pairs: {len(paths)}")
    top = np.argsort(-np.abs(aucs["classes"] - 0.5), kind="stable")[:10]
    print("top classes by |AUC - 0.5|: " + ", ".join(f"{j} ({aucs['classes'][j]:.3f})" for j in top))
    for what, v in aucs.items():
        d = np.maximum(v, 1 - v)
        print(f"{what}: " + ", ".join(f"d > {t}: {int((d > t).sum())}" for t in (0.7, 0.8, 0.9, 0.95)))
    if a.save:
        np.savez(a.save, classes=aucs["classes"], channels=aucs["channels"], paths=np.array(paths))


if __name__ == "__main__":
    main()
