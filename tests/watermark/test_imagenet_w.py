"""The `imagenet-w` preset against ImageNet-W's own code, pixel for pixel, at every size 64..768.

The reference is AddWatermark and _add_watermark of github facebookresearch/Whac-A-Mole,
imagenet_w/watermark_transform.py, re-typed below with its exact arithmetic; the only change is the
font file: the repository's SourceHanSerifSC-ExtraLight.otf is replaced by Debian's Noto Serif CJK SC
ExtraLight (the same design), face 2 of NotoSerifCJK-ExtraLight.ttc. Each size runs on a grey photo
(skimage camera) and a colour photo (skimage coffee):
  - directly: AddWatermark(S) on a PIL image of S x S and of S x round(0.75 S), against the library's
    preset with reference size S;
  - through the evaluation pipeline of Whac-A-Mole's eval_shortcuts/eval_watermark_shortcut.py:
    Resize(R) -> CenterCrop(S) -> ToTensor -> AddWatermark(S) -> Normalize, against the library's
    resize_shorter -> center_crop -> apply -> to_tensor (R = S * 8 // 7).
Every comparison asserts 0 differing pixels (direct) and bit-equal float tensors (pipeline).

Run by meson (`meson test -C build watermark_imagenet_w`) with WMFEAT_LIBRARY set; or by hand with
`--sizes 64,224,518`.
"""
import argparse
import os
import sys
from typing import Tuple

import numpy as np
import torch
import torchvision.transforms as transforms
from PIL import Image, ImageDraw, ImageFont, features
from torchvision.transforms.functional import to_pil_image, to_tensor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import wmf_skip  # noqa: E402
import wmfeat  # noqa: E402

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSerifCJK-ExtraLight.ttc"
FONT_INDEX = 2  # Noto Serif CJK SC ExtraLight
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"


# ---- re-typed from Whac-A-Mole imagenet_w/watermark_transform.py (font path and index changed) ----
class AddWatermark:
    def __init__(
        self,
        image_size: int = 224,
        text: str = "捷径捷径捷径",
        font_path: str = FONT_PATH,
        opacity: float = 0.5,
        color: Tuple[int, int, int] = (255, 255, 255),
        x_pos: float = 0.01,
        y_pos: float = 0.4,
    ):
        self.color = color
        image_size_to_font_size = {
            224: 36,
            384: 62,
            512: 82,
            518: 84,
        }
        if image_size in image_size_to_font_size:
            font_size = image_size_to_font_size[image_size]
        else:
            font_size = int(image_size / 6.22)

        assert os.path.exists(font_path), f"{font_path} does not exist"
        self.font = ImageFont.truetype(font_path, font_size, index=FONT_INDEX)
        self.opacity = opacity
        self.x_pos, self.y_pos = x_pos, y_pos
        self.text = text

    def __call__(self, image, text=None):
        if text is None:
            text = self.text
        return _add_watermark(image, text=text, font=self.font, opacity=self.opacity, color=self.color,
                              x_pos=self.x_pos, y_pos=self.y_pos)


def _add_watermark(image, text, font, opacity=1.0, color=(255, 255, 255), x_pos=0.0, y_pos=0.5):
    assert 0.0 <= opacity <= 1.0, "Opacity must be a value in the range [0.0, 1.0]"
    assert 0.0 <= x_pos <= 1.0, "x_pos must be a value in the range [0.0, 1.0]"
    assert 0.0 <= y_pos <= 1.0, "y_pos must be a value in the range [0.0, 1.0]"

    if isinstance(image, torch.Tensor):
        pil_img = to_pil_image(image)
    else:
        assert isinstance(image, Image.Image)
        pil_img = image

    pil_img = pil_img.convert("RGBA")
    width, height = pil_img.size

    txt = Image.new("RGBA", pil_img.size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(txt)

    draw.text(
        xy=(x_pos * width, y_pos * height),
        text=text,
        fill=(color[0], color[1], color[2], round(opacity * 255)),
        font=font,
    )

    output_img = Image.alpha_composite(pil_img, txt).convert("RGB")
    if isinstance(image, torch.Tensor):
        output_img = to_tensor(output_img)

    return output_img
# ---- end of the re-typed reference ----


MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def library_image(pil):
    return wmfeat.Image.from_array(np.asarray(pil))


def check_size(size, photos, wm, failures):
    ref = AddWatermark(size)
    wm.reference_size = size
    for name, photo in photos:
        # directly, square and not
        for w, h in ((size, size), (size, round(0.75 * size))):
            src = photo.resize((w, h), Image.BILINEAR)
            want = np.asarray(ref(src))
            with library_image(src) as img:
                wm.apply(img)
                got = img.to_array()
            diff = int(np.count_nonzero(np.any(got != want, axis=2)))
            ink = int(np.count_nonzero(np.any(want != np.asarray(src.convert("RGB")), axis=2)))
            if diff or ink == 0:
                failures.append(f"direct {name} {w}x{h}: {diff} pixels differ (reference ink {ink} px)")
        # the evaluation pipeline
        resize = size * 8 // 7
        pipe = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(size), transforms.ToTensor(),
                                   ref, transforms.Normalize(mean=MEAN, std=STD)])
        want_t = pipe(photo).numpy()
        with library_image(photo) as img, img.resize_shorter(resize) as r, r.center_crop(size, size) as c:
            wm.apply(c)
            got_t = c.to_tensor()[0]
        if want_t.shape != got_t.shape or not np.array_equal(want_t, got_t):
            n = int(np.count_nonzero(np.any(want_t != got_t, axis=0))) if want_t.shape == got_t.shape else -1
            failures.append(f"pipeline {name} crop {size} (resize {resize}): {n} pixels differ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", help="comma-separated sizes (default: every size 64..768)")
    args = ap.parse_args()
    if not features.check("raqm"):
        wmf_skip.skip_missing_tool("PIL's raqm", "the reference would not lay text out as Whac-A-Mole's PIL does (Debian libraqm0)")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(range(64, 769))
    photos = [("camera (grey)", Image.open(os.path.join(SKIMAGE, "camera.png"))),
              ("coffee (colour)", Image.open(os.path.join(SKIMAGE, "coffee.png")).convert("RGB"))]
    assert photos[0][1].mode == "L"
    failures = []
    with wmfeat.Watermark.from_preset("imagenet-w") as wm:
        for size in sizes:
            check_size(size, photos, wm, failures)
    print(f"imagenet-w vs AddWatermark: {len(sizes)} sizes x 2 photos x (2 direct + 1 pipeline): "
          f"{len(failures)} cases with differing pixels")
    for f in failures[:40]:
        print("  " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
