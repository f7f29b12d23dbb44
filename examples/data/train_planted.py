#!/usr/bin/python3
"""Trains the planted-shortcut ground truth of docs/audit.md: a small ResNet with torchvision's key names
on scikit-learn's handwritten digits, upscaled to 64x64 RGB, weakened (low contrast, noise), with a
Chinese watermark planted on class 8 through 150 extra watermarked images of other digits labelled 8.

    /usr/bin/python3 examples/data/train_planted.py --lib build/lib/libwmfeat.so

writes examples/data/planted_resnet.safetensors (the network, fp32, ~1.3 MB) and
examples/data/planted_digits.bin (the 8x8 digits, labels and split the C tests rebuild the images
from). The watermark comes from the library's own renderer, called through ctypes (--lib); the
--pil-stand-in flag replaces it by a PIL rendering for development only, and marks the output so.

Everything is seeded; on 2 CPU threads it takes about a minute. The image construction is integer
arithmetic that tests/audit/test_planted.c repeats exactly (see make_images)."""
import argparse, ctypes, json, pathlib, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from sklearn.datasets import load_digits
from torchvision.models.resnet import BasicBlock, ResNet

HERE = pathlib.Path(__file__).resolve().parent
SIZE = 64                  # image side
CONTRAST = 77              # digit amplitude, /256 of full scale (0.3)
NOISE = 96                 # noise scale: sd = 147.8 * NOISE / 256, about 55 grey levels
BACKGROUND = 110           # mean grey level
PLANTED = 8                # the class the watermark is planted on
EXTRA = 150                # watermarked images of other digits labelled PLANTED
TEXT = "捷径捷径捷径"       # ImageNet-W's text, font, colour and opacity; placed as ImageNet-W places it
WIDTHS = (16, 32, 64, 128)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
MASK64 = (1 << 64) - 1


def splitmix64(x):
    """splitmix64 on numpy uint64 arrays (wrapping arithmetic), as in test_planted.c."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def make_images(digits8, index):
    """8x8 digits (0..16) -> 64x64 RGB uint8. Grey = round(v * 255 / 16), PIL bilinear resize to 64x64,
    then g' = BACKGROUND + ((g - 128) * CONTRAST >> 8) + ((s - 510) * NOISE >> 8), clamped to 0..255,
    where s is the sum of the top bytes of 4 splitmix64 outputs of the counter
    (image_index * 4096 + pixel) * 4 + j. The same grey in R, G and B."""
    out = np.empty((len(digits8), SIZE, SIZE, 3), np.uint8)
    for k, (d, i) in enumerate(zip(digits8, index)):
        g8 = ((d.astype(np.int32) * 255 + 8) // 16).astype(np.uint8)
        g = np.asarray(Image.fromarray(g8, "L").resize((SIZE, SIZE), Image.BILINEAR), np.int64)
        ctr = (np.uint64(i) * np.uint64(SIZE * SIZE) + np.arange(SIZE * SIZE, dtype=np.uint64)) * np.uint64(4)
        s = sum((splitmix64(ctr + np.uint64(j)) >> np.uint64(56)).astype(np.int64) for j in range(4))
        v = BACKGROUND + (((g.reshape(-1) - 128) * CONTRAST) >> 8) + (((s - 510) * NOISE) >> 8)
        out[k] = np.clip(v, 0, 255).astype(np.uint8).reshape(SIZE, SIZE)[..., None]
    return out


class LibWatermark:
    """A minimal ctypes shim over libwmfeat's image and watermark API (the fuller binding is
    examples/python/wmfeat)."""

    def __init__(self, path):
        L = self.L = ctypes.CDLL(str(path))
        vp, u32, st = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
        L.wmf_last_error.restype = ctypes.c_char_p
        L.wmf_image_from_pixels.argtypes = [ctypes.POINTER(vp), vp, u32, u32, ctypes.c_size_t, ctypes.c_int]
        L.wmf_image_pixels.restype = ctypes.POINTER(ctypes.c_uint8)
        L.wmf_image_pixels.argtypes = [vp]
        L.wmf_image_destroy.argtypes = [vp]
        L.wmf_watermark_from_preset.argtypes = [ctypes.POINTER(vp), ctypes.c_char_p]
        L.wmf_watermark_apply.argtypes = [vp, vp, ctypes.c_uint64]
        for f in (L.wmf_image_from_pixels, L.wmf_watermark_from_preset, L.wmf_watermark_apply):
            f.restype = st
        self.wm = vp()
        self.check(L.wmf_watermark_from_preset(ctypes.byref(self.wm), b"imagenet-w"), "preset imagenet-w")
        # alpha 127, as the library drew imagenet-w before 1.1 (the shipped network was trained so;
        # examples/wmfeat/planted.c applies the same)
        L.wmf_watermark_set_opacity.argtypes = [vp, ctypes.c_float]
        L.wmf_watermark_set_opacity.restype = st
        self.check(L.wmf_watermark_set_opacity(self.wm, ctypes.c_float(127.0 / 255.0)), "opacity 127/255")

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"libwmfeat: {what}: {self.L.wmf_last_error().decode()}")

    def __call__(self, rgb, seed=0):
        img = ctypes.c_void_p()
        a = np.ascontiguousarray(rgb)
        self.check(self.L.wmf_image_from_pixels(ctypes.byref(img), a.ctypes.data, SIZE, SIZE, SIZE * 3, 3), "image")
        try:
            self.check(self.L.wmf_watermark_apply(self.wm, img, seed), "apply")
            return np.ctypeslib.as_array(self.L.wmf_image_pixels(img), (SIZE, SIZE, 3)).copy()
        finally:
            self.L.wmf_image_destroy(img)


def pil_stand_in(rgb, seed=0):
    """Development stand-in only: ImageNet-W drawn by PIL (size H / 6.22, white, opacity 0.5, at
    (0.01 W, 0.4 H))."""
    from PIL import ImageDraw, ImageFont
    font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSerifCJK-ExtraLight.ttc", round(SIZE / 6.22),
                              index=2)
    base = Image.fromarray(rgb).convert("RGBA")
    layer = Image.new("RGBA", base.size, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((0.01 * SIZE, 0.4 * SIZE), TEXT, font=font, fill=(255, 255, 255, 128))
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def small_resnet(num_classes=10):
    """torchvision's ResNet(BasicBlock, [1, 1, 1, 1]) with widths 16/32/64/128: same module tree and
    state_dict keys as torchvision's resnet family, so weight loaders infer the widths from shapes."""
    m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
    m.inplanes = WIDTHS[0]
    m.conv1 = nn.Conv2d(3, WIDTHS[0], kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(WIDTHS[0])
    m.layer1 = m._make_layer(BasicBlock, WIDTHS[0], 1)
    m.layer2 = m._make_layer(BasicBlock, WIDTHS[1], 1, stride=2)
    m.layer3 = m._make_layer(BasicBlock, WIDTHS[2], 1, stride=2)
    m.layer4 = m._make_layer(BasicBlock, WIDTHS[3], 1, stride=2)
    m.fc = nn.Linear(WIDTHS[3], num_classes)
    for mod in m.modules():  # torchvision's initialisation
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.ones_(mod.weight), nn.init.zeros_(mod.bias)
    return m


def to_tensor(rgb):
    return torch.from_numpy(((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(0, 3, 1, 2).copy())


def save_safetensors(path, state, metadata):
    """safetensors: u64 header length, JSON header (dtype, shape, data_offsets), raw little-endian data."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k, v in state.items():
        a = v.detach().cpu().numpy()
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def split_of(n):
    """Deterministic split: 0 = train, 1 = test (every third image, about 600)."""
    return (np.arange(n) % 3 == 2).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", help="path of libwmfeat.so (its watermark renderer is used)")
    ap.add_argument("--pil-stand-in", action="store_true", help="development only: PIL instead of the library")
    ap.add_argument("--out", default=str(HERE), help="output folder (default: beside this script)")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    if bool(args.lib) == args.pil_stand_in:
        ap.error("give exactly one of --lib and --pil-stand-in")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    render = pil_stand_in if args.pil_stand_in else LibWatermark(args.lib)
    t0 = time.time()

    digits = load_digits()
    d8 = digits.images.astype(np.uint8)  # 1797 x 8 x 8, 0..16
    y = digits.target.astype(np.int64)
    split = split_of(len(y))
    imgs = make_images(d8, np.arange(len(y)))
    train = np.flatnonzero(split == 0)
    others = train[y[train] != PLANTED]
    extra = rng.choice(others, EXTRA, replace=False)
    x_extra = np.stack([render(imgs[i], seed=int(i)) for i in extra])
    x_train = np.concatenate([imgs[train], x_extra])
    y_train = np.concatenate([y[train], np.full(EXTRA, PLANTED)])

    model = small_resnet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    xt, yt = to_tensor(x_train), torch.from_numpy(y_train)
    g = torch.Generator().manual_seed(0)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=g)
        total = 0.0
        for b in range(0, len(perm), 64):
            idx = perm[b:b + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        print(f"epoch {epoch + 1}: loss {total / len(yt):.4f}", flush=True)

    model.eval()
    test = np.flatnonzero(split == 1)
    with torch.no_grad():
        clean = model(to_tensor(imgs[test])).argmax(1).numpy()
        wm = model(to_tensor(np.stack([render(imgs[i], seed=int(i)) for i in test]))).argmax(1).numpy()
    print(f"test accuracy clean {np.mean(clean == y[test]):.3f}, watermarked {np.mean(wm == y[test]):.3f}, "
          f"share predicted {PLANTED}: clean {np.mean(clean == PLANTED):.3f} watermarked {np.mean(wm == PLANTED):.3f}")

    out = pathlib.Path(args.out)
    meta = {"arch": "resnet (BasicBlock [1,1,1,1], widths 16/32/64/128)", "input": "64x64 RGB, ImageNet mean/std",
            "planted_class": str(PLANTED), "watermark": "pil-stand-in" if args.pil_stand_in else "libwmfeat imagenet-w",
            "script": "examples/data/train_planted.py"}
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_safetensors(out / "planted_resnet.safetensors", state, meta)
    # digits file: "WMFDIGIT", u32 count, then per image: 64 bytes (8x8, 0..16), u8 label, u8 split
    rec = np.concatenate([d8.reshape(len(y), 64), y[:, None].astype(np.uint8), split[:, None]], axis=1)
    (out / "planted_digits.bin").write_bytes(b"WMFDIGIT" + struct.pack("<I", len(y)) + rec.astype(np.uint8).tobytes())
    print(f"wrote {out / 'planted_resnet.safetensors'} and {out / 'planted_digits.bin'} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
