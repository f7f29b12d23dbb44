"""Text layout against PIL 9.4 with raqm (ImageFont.Layout.RAQM), the library PIL lays text out with.

Each case draws one line with one font (fallback off: PIL has none) at 28 px, anchor "ls" at
(0.05 W, 0.5 H) of a 360 x 96 image: PIL's draw.text(..., fill=255) on a black "L" image (whose pixels
are then PIL's coverage) against the library's wmf_watermark_coverage at opacity 1. The direction and
language are passed to both as PIL's `direction` / `language` arguments and set_shaping(). Every case
must be identical (0 differing pixels, docs/watermarks.md "Text layout"): bidirectional text with
explicit embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), numbers and brackets in
right-to-left text, mixed Arabic / Latin / digits, Devanagari clusters, CJK with Latin.

Exits 77 (a skip) when PIL lacks raqm or a font is not installed, saying which on stderr.
"""
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
import wmfeat  # noqa: E402

DEJAVU, DEVA = "DejaVu Sans:style=Book", "Noto Sans Devanagari:style=Regular"
RLE, LRE, PDF, RLO = "\u202b", "\u202a", "\u202c", "\u202e"
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"

CASES = [  # (font, text, direction, language)
    # explicit embeddings, overrides and isolates
    (DEJAVU, f"abc {RLE}שלום 123 abc{PDF} def", None, None),
    (DEJAVU, f"abc {RLI}abc مرحبا 12{PDI} def", None, None),
    (DEJAVU, f"x {RLI}مرحبا 12{PDI} y", None, None),
    (DEJAVU, f"{LRI}abc{PDI} مرحبا", None, None),
    (DEJAVU, f"مرحبا {LRE}abc 12 ok{PDF} نص", None, None),
    (DEJAVU, f"abc {RLO}abc 12{PDF} def", None, None),
    # mixed Arabic / Latin / digits, numbers with separators, brackets, given directions
    (DEJAVU, "abc 123 مرحبا 456", None, None),
    (DEJAVU, "abc 123 مرحبا 456", "rtl", None),
    (DEJAVU, "abc 123 مرحبا 456", "ltr", None),
    (DEJAVU, "مرحبا 1,234.5 - 2 abc", None, None),
    (DEJAVU, "مرحبا 10% abc $5", None, None),
    (DEJAVU, "مرحبا (abc) [def] نص", None, None),
    (DEJAVU, "abc (مرحبا) def", None, None),
    (DEJAVU, "رقم ٣٤٥ (ok)", None, None),
    (DEJAVU, "שלום, abc! 12:30", "rtl", None),
    (DEJAVU, "Hello مرحبا world", None, "ar"),
    # Devanagari clusters (conjuncts, reph, pre-base vowel signs)
    (DEVA, "नमस्ते", None, None),
    (DEVA, "क्षत्रिय", None, None),
    (DEVA, "क्षत्रिय हिन्दी कृष्ण", None, None),
    (DEVA, "अर्थ 123 नमस्ते", None, "hi"),
    # CJK with Latin and digits
    ("Noto Sans CJK SC:style=Regular", "捷径捷径 abc 123", None, None),
    ("Noto Serif CJK SC:style=ExtraLight", "捷径捷径捷径", None, None),
]
# random lines (fixed seed) from character pools: lines of one run (Devanagari with vowel signs that
# may lack a base, CJK, kerned Latin) and lines of every direction with bidi controls, brackets, digits
RANDOM = [  # (font, pool, characters per line, lines)
    (DEVA, "ाकेरहसनींमि्तपलोयैबद 12", 7, 40),
    ("Noto Serif CJK SC:style=Medium", "的一是不了在人有我他这个们中来上大为和国 1", 7, 30),
    ("Liberation Sans:style=Regular", "AVATWaveToday,. yLPF'1", 10, 30),
    (DEJAVU, "ab xyz 019 مرحبا שלום ,.-()%:\u202b\u202c\u2067\u2069\u202e\u2066 ٣٤", 12, 80),
]
W, H, SIZE = 360, 96, 28


def skip(reason):
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(77)


def random_cases():
    rng = random.Random(14)
    out = []
    for font, pool, k, lines in RANDOM:
        for _ in range(lines):
            out.append((font, "".join(rng.choice(pool) for _ in range(k)), None, None))
    return out


def main():
    if not features.check("raqm"):
        skip("PIL here lays text out without raqm (features.check('raqm') is False): no reference")
    failures = []
    cases = CASES + random_cases()
    for n, (pattern, text, direction, language) in enumerate(cases):
        try:
            font = wmfeat.Font.find(pattern)
        except wmfeat.Error as e:
            skip(f"font '{pattern}' is not installed ({e})")
        with font:
            pil_font = ImageFont.truetype(font.path, SIZE, index=font.face_index)
            ref = Image.new("L", (W, H), 0)
            ImageDraw.Draw(ref).text((0.05 * W, 0.5 * H), text, fill=255, font=pil_font, anchor="ls",
                                     direction=direction, language=language)
            ref = np.asarray(ref)
            with wmfeat.Watermark.create() as wm:
                wm.set_font(font).set_text(text).set_fallback(False).set_size(SIZE)
                wm.set_position(0.05, 0.5, "ls").set_shaping(language, None, direction or "auto")
                got = wm.coverage(W, H)
        diff = np.abs(got.astype(int) - ref.astype(int))
        differing, ink = int(np.count_nonzero(diff)), int(np.count_nonzero(ref))
        ok = differing == 0 and (ink > 0 or n >= len(CASES))
        if n < len(CASES) or not ok:
            print(f"{'ok' if ok else 'FAIL':4} {pattern[:24]:24} {text!r:44} {direction or 'auto':4} "
                  f"{language or '-':2} differing {differing} max|d| {int(diff.max())} ink {ink}")
        if not ok:
            failures.append(f"{'random ' if n >= len(CASES) else ''}{text!r} ({pattern}, {direction}, {language}): "
                            f"{differing} pixels differ, ink {ink}")
    print(f"{len(cases) - len(CASES)} random lines: {sum(1 for f in failures if f.startswith('random'))} differ")
    if failures:
        sys.exit(f"{len(failures)} of {len(cases)} cases differ from PIL/raqm:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
