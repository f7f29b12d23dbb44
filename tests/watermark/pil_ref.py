"""PIL 9.4 (raqm) reference renders for the watermark parity test.

Usage: pil_ref.py spec.jsonl
Each line of the spec is one case: {"in": png, "out": png, "font": path, "index": n, "size": px,
"text": str, "xy": [x, y] or "rel": [fx, fy], "anchor": "la" | "ls" | null, "fill": [r, g, b, a],
"layer": bool, optional "stroke": [width, r, g, b, a], optional "shadow": [dx, dy, r, g, b, a]}. With
"layer" the text is drawn as ImageNet-W does: on an RGBA layer (255,255,255,0), then
Image.alpha_composite onto the image; otherwise drawn directly on the RGB image (Mark My Words).
"stroke" is draw.text's stroke_width and stroke_fill (in the same draw). "shadow" draws the text (with
the stroke, if any, in the shadow's color) at xy + (dx, dy) on a layer of its own, alpha-composited
before the text's layer.
"""
import json
import sys

from PIL import Image, ImageDraw, ImageFont, features

if not features.check("raqm"):
    sys.exit("PIL lacks raqm: the reference would not shape complex scripts")

for line in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(line)
    img = Image.open(c["in"]).convert("RGB")
    font = ImageFont.truetype(c["font"], c["size"], index=c["index"])
    if "rel" in c:
        xy = (c["rel"][0] * img.size[0], c["rel"][1] * img.size[1])
    else:
        xy = tuple(c["xy"])
    fill = tuple(c["fill"])
    width = c["stroke"][0] if "stroke" in c else 0
    if c["layer"]:
        out = img.convert("RGBA")
        if "shadow" in c:
            dx, dy, *shadow = c["shadow"]
            layer = Image.new("RGBA", img.size, (255, 255, 255, 0))
            ImageDraw.Draw(layer).text((xy[0] + dx, xy[1] + dy), c["text"], fill=tuple(shadow), font=font,
                                       anchor=c.get("anchor"), stroke_width=width, stroke_fill=tuple(shadow))
            out = Image.alpha_composite(out, layer)
        layer = Image.new("RGBA", img.size, (255, 255, 255, 0))
        ImageDraw.Draw(layer).text(xy, c["text"], fill=fill, font=font, anchor=c.get("anchor"),
                                   stroke_width=width, stroke_fill=tuple(c["stroke"][1:]) if width else None)
        out = Image.alpha_composite(out, layer).convert("RGB")
    else:
        out = img.copy()
        ImageDraw.Draw(out).text(xy, c["text"], fill=fill[:3], font=font, anchor=c.get("anchor"))
    out.save(c["out"])
