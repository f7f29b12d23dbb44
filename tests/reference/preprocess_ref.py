#!/usr/bin/python3
"""Reference outputs of torchvision's preprocessing for libwmfeat's image module.

Usage: preprocess_ref.py OUTDIR

Writes OUTDIR/manifest.txt and one raw file per case, for tests/reference/preprocess_check.c:
  pre    IMAGE PIXELS W H FILTER RESIZE CROP EXPECTED   (EXPECTED: float32 3 x CROP x CROP, torchvision's
                                                         Resize(RESIZE) CenterCrop(CROP) ToTensor Normalize)
  resize IMAGE PIXELS W H FILTER OUT_W OUT_H EXPECTED   (EXPECTED: uint8 RGB of PIL's Image.resize)
PIXELS holds the RGB8 pixels PIL decoded (so resampling is compared on identical input; IMAGE itself is
also decoded by libwmfeat to measure the whole path, decoder included). Photos: python3-skimage's data.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

torch.set_num_threads(2)
DATA = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "ihc.png", "camera.png",
          "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg"]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
FILTERS = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}
PIL_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}

# (photo, filter, resize, crop): ResNet weights (256/224), ResNet-50 V2 (232/224), bicubic weights,
# and upscaling (the photo's shorter side is below the resize).
PRE = [(p, "bilinear", 256, 224) for p in PHOTOS] + [(p, "bilinear", 232, 224) for p in PHOTOS] + [
    ("astronaut.png", "bicubic", 256, 224), ("rocket.jpg", "bicubic", 232, 224),
    ("coffee.png", "bicubic", 256, 224), ("chelsea.png", "bilinear", 480, 448),
    ("chelsea.png", "bicubic", 480, 448), ("retina.jpg", "bilinear", 64, 56)]
# (photo, filter, out_w, out_h): plain resizes, shrinking and enlarging, one axis or both.
RESIZE = [("chelsea.png", "bilinear", 97, 61), ("chelsea.png", "bicubic", 97, 61),
          ("chelsea.png", "bicubic", 1000, 700), ("chelsea.png", "bilinear", 451, 150),
          ("coffee.png", "bilinear", 601, 399), ("rocket.jpg", "bicubic", 13, 700),
          ("astronaut.png", "bilinear", 1, 1)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pixels = {}
    for photo in PHOTOS:
        img = Image.open(os.path.join(DATA, photo)).convert("RGB")
        path = os.path.join(out, photo + ".rgb")
        np.asarray(img, dtype=np.uint8).tofile(path)
        pixels[photo] = (img, path)
    lines = []
    for i, (photo, filt, resize, crop) in enumerate(PRE):
        img, path = pixels[photo]
        tf = T.Compose([T.Resize(resize, interpolation=FILTERS[filt]), T.CenterCrop(crop), T.ToTensor(),
                        T.Normalize(MEAN, STD)])
        x = tf(img).numpy().astype(np.float32)
        assert x.shape == (3, crop, crop)
        name = os.path.join(out, f"pre{i}.f32")
        x.tofile(name)
        lines.append(f"pre {os.path.join(DATA, photo)} {path} {img.width} {img.height} {filt} {resize} {crop} {name}")
    for i, (photo, filt, w, h) in enumerate(RESIZE):
        img, path = pixels[photo]
        name = os.path.join(out, f"resize{i}.u8")
        np.asarray(img.resize((w, h), PIL_FILTERS[filt]), dtype=np.uint8).tofile(name)
        lines.append(f"resize {os.path.join(DATA, photo)} {path} {img.width} {img.height} {filt} {w} {h} {name}")
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
