"""PIL 9.4 side of bench_render: prints renders per second for imagenet-w and mmw-chinese at 224x224.

Usage: bench_render_pil.py PHOTO SECONDS. Same work as the C side: start from a copy of the crop, draw,
composite. The fonts are loaded once, as a data pipeline would.
"""
import random
import sys
import time

from PIL import Image, ImageDraw, ImageFont

photo = Image.open(sys.argv[1]).convert("RGB")
w, h = photo.size
s = 224 / min(w, h)
photo = photo.resize((round(w * s), round(h * s)), Image.BILINEAR)
left, top = (photo.size[0] - 224) // 2, (photo.size[1] - 224) // 2
photo = photo.crop((left, top, left + 224, top + 224))
seconds = float(sys.argv[2])

inw_font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSerifCJK-ExtraLight.ttc", 36, index=2)
mmw_font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 30, index=2)
pool = "的一是不了在人有我他这个们中来上大为和国"
rng = random.Random(0)


def imagenet_w():
    img = photo.copy()
    layer = Image.new("RGBA", img.size, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((0.01 * 224, 0.4 * 224), "捷径捷径捷径", fill=(255, 255, 255, 127), font=inw_font)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def mmw_chinese():
    img = photo.copy()
    text = "".join(rng.choice(pool) for _ in range(7))
    l, t, r, b = mmw_font.getbbox(text, anchor="ls")
    tw, th = r - l, b - t
    x = rng.randrange(0, max(1, 224 - tw))
    y = rng.randrange(th, max(th + 1, 224 - th))
    ImageDraw.Draw(img).text((x, y), text, fill=(255, 255, 255), font=mmw_font, anchor="ls")
    return img


out = []
for fn in (imagenet_w, mmw_chinese):
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        n += 50
        t = time.perf_counter() - t0
        if t >= seconds:
            break
    out.append(n / t)
print(" ".join("%.1f" % v for v in out))
