"""The `ch-logo` preset and logos from files against CH_datasets' own pasting code.

The reference is PastePoisoner of github a1247418/CH_datasets, CH_datasets/poisoner.py, and the
CartonPoisoner parameters of CH_datasets/scenario_examples.py (artifacts carton_logo4.png at (10, 110)
and alibaba_logo2.png at (142, 208), opacity 0.9), re-typed below. The repository's logos are third-party
marks outside its MIT licence, so they are not shipped: this test writes two generated RGBA PNGs of the
same sizes (210 x 18 and 80 x 12, every alpha level, coloured noise) and loads them in both. The
poisoner runs where CH_datasets' scenario puts it: after Resize(224) and CenterCrop(224), before
ToTensor. Checked on skimage photos:
  1. the preset with both logos replaced from the files (wmf_watermark_set_logo_file) equals
     CartonPoisoner's output, 0 differing pixels, on the 224 x 224 crop;
  2. wmf_watermark_add_logo_file at other positions (partly outside the image) and opacities equals
     PastePoisoner with the same arguments, 0 differing pixels;
  3. the whole pipeline Resize(224) -> CenterCrop(224) -> poisoner -> ToTensor -> Normalize equals the
     library's resize_shorter -> center_crop -> apply -> to_tensor, bit for bit.
"""
import os
import sys
import tempfile
from typing import List, Optional, Tuple, Union

import numpy as np
import torchvision.transforms as transforms
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
import wmfeat  # noqa: E402

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"


# ---- re-typed from CH_datasets/poisoner.py (Poisoner's probability and class filter left out: p = 1) ----
class PastePoisoner:
    def __init__(
        self,
        artifact_paths: Union[str, List[str]],
        positions: Union[Tuple[int, int], List[Tuple[int, int]]],
        p: float = 1.0,
        opacity: float = 1.0,
        classes: Optional[List[int]] = None,
    ):
        self.artifact_paths = artifact_paths
        if isinstance(artifact_paths, str):
            self.artifact_paths = [artifact_paths]
        self.positions = positions
        if not isinstance(positions[0], Tuple):
            self.positions = [positions]
        self.opacity = opacity
        self.artifacts = []

        for path in self.artifact_paths:
            with Image.open(path) as artifact:
                artifact = artifact.convert("RGBA")
                if self.opacity < 1:
                    red, green, blue, alpha = artifact.split()
                    alpha = alpha.point(lambda p: int(p * self.opacity))
                    artifact = Image.merge("RGBA", (red, green, blue, alpha))
                self.artifacts.append(artifact)

    def __call__(self, img):
        for artifact, position in zip(self.artifacts, self.positions):
            img = self._paste(img, artifact, position)
        return img

    def _paste(self, img, artifact, position):
        img = img.convert("RGBA")
        img.paste(artifact, position, artifact)
        return img.convert("RGB")


# CH_datasets/scenario_examples.py, CartonPoisoner
def carton_poisoner(carton_logo, alibaba_logo):
    return PastePoisoner(artifact_paths=[carton_logo, alibaba_logo], positions=[(10, 110), (142, 208)],
                         opacity=0.9)
# ---- end of the re-typed reference ----


MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def make_logo(path, w, h, seed):
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[..., 3] = (np.arange(w * h).reshape(h, w) * 7) % 256  # every alpha level
    rgba[0, :, 3] = 255
    rgba[-1, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(path)


def main():
    failures = []
    tmp = tempfile.mkdtemp()
    carton, alibaba, other = (os.path.join(tmp, n) for n in ("carton.png", "alibaba.png", "other.png"))
    make_logo(carton, 210, 18, 1)
    make_logo(alibaba, 80, 12, 2)
    make_logo(other, 37, 23, 3)
    photos = {n: Image.open(os.path.join(SKIMAGE, n)).convert("RGB") for n in ("astronaut.png", "coffee.png")}
    crop = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224)])
    cases = 0
    with wmfeat.Watermark.from_preset("ch-logo") as wm:
        assert wm.logo_count == 2
        wm.set_logo_file(0, carton).set_logo_file(1, alibaba)
        ref = carton_poisoner(carton, alibaba)
        for name, photo in photos.items():
            base = crop(photo)
            want = np.asarray(ref(base))
            with wmfeat.Image.from_array(np.asarray(base)) as img:
                got = wm.apply(img).to_array()
            n = int(np.count_nonzero(np.any(got != want, axis=2)))
            cases += 1
            if n:
                failures.append(f"ch-logo on {name}: {n} pixels differ from CartonPoisoner")
            # 3. the pipeline, as the scenario inserts the poisoner before ToTensor
            pipe = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224), ref, transforms.ToTensor(),
                                       transforms.Normalize(MEAN, STD)])
            want_t = pipe(photo).numpy()
            with wmfeat.Image.from_array(np.asarray(photo)) as img, img.resize_shorter(224) as r, \
                    r.center_crop(224, 224) as c:
                wm.apply(c)
                got_t = c.to_tensor()[0]
            cases += 1
            if not np.array_equal(want_t, got_t):
                failures.append(f"ch-logo pipeline on {name}: tensors differ")
    # 2. any file, position and opacity
    for (x, y), opacity in (((0, 0), 1.0), ((200, 210), 0.9), ((-10, -5), 0.5), ((100, 50), 0.33), ((5, 7), 0.0)):
        ref = PastePoisoner(other, (x, y), opacity=opacity)
        for name, photo in photos.items():
            base = crop(photo)
            want = np.asarray(ref(base))
            with wmfeat.Watermark.create() as wm, wmfeat.Image.from_array(np.asarray(base)) as img:
                wm.add_logo_file(other, x, y, opacity)
                got = wm.apply(img).to_array()
            n = int(np.count_nonzero(np.any(got != want, axis=2)))
            cases += 1
            if n:
                failures.append(f"logo at ({x}, {y}) opacity {opacity} on {name}: {n} pixels differ")
    print(f"CH_datasets PastePoisoner vs libwmfeat: {cases} cases, {len(failures)} with differing pixels")
    for f in failures:
        print("  " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
