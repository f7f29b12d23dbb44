"""Audits of image files the way `wmfeat audit` runs them: image lists (the program's rules), pre-rendered
(clean, watermarked) pairs matched by relative path, and an audit loop that gives the program's result
bit for bit (same preprocessing, same batches, same forward passes). See docs/audit.md and docs/cli.md.
"""
import os

import numpy as np

from ._lib import Error
from .audit import Audit, Target
from .image import Image
from .model import ConvAlgorithm, Model, Precision, Session
from .watermark import Watermark

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif")


def list_images(source, limit=0):
    """(paths, labels) of an image file, a folder searched recursively in sorted order (label = index of
    the top-level subfolder, as torchvision's ImageFolder numbers ImageNet's val/<wnid>/), or a text file
    with one path per line, optionally followed by a tab and an integer label. -1 = unknown. The same
    rules and order as the wmfeat program."""
    source = os.fspath(source)
    paths, labels = [], []
    if os.path.isdir(source):
        def walk(folder, label, depth):
            next_label = 0
            for name in sorted(os.listdir(folder), key=os.fsencode):
                if name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                if os.path.isdir(path):
                    walk(path, next_label if depth == 0 else label, depth + 1)
                    if depth == 0:
                        next_label += 1
                elif name.lower().endswith(IMAGE_EXTENSIONS):
                    paths.append(path)
                    labels.append(label)
        walk(source, -1, 0)
    elif source.lower().endswith(IMAGE_EXTENSIONS):
        paths, labels = [source], [-1]
    else:
        with open(source, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\r\n")
                if not line or line.startswith("#"):
                    continue
                path, _, label = line.partition("\t")
                paths.append(path)
                labels.append(int(label) if label else -1)
    if not paths:
        raise ValueError(f"no images ({' '.join(IMAGE_EXTENSIONS)}) in {source!r}")
    if limit:
        paths, labels = paths[:limit], labels[:limit]
    return paths, labels


def pair_images(clean, watermarked):
    """Pairs pre-rendered watermarked images with their clean originals, as `wmfeat audit --watermarked`:
    two folders are paired by each file's path relative to its folder (CLEAN/a/x.JPEG with WM/a/x.JPEG),
    two list files or two Python lists of paths line by line (same length required).
    Returns (clean_paths, wm_paths, labels, unpaired): labels are the clean side's, and unpaired lists
    (path, "clean" or "watermarked") for every file without a partner (skipped)."""
    if isinstance(clean, (list, tuple)) or isinstance(watermarked, (list, tuple)):
        if not isinstance(clean, (list, tuple)) or not isinstance(watermarked, (list, tuple)):
            raise ValueError("clean and watermarked must both be lists (paired by position) or both paths")
        if len(clean) != len(watermarked):
            raise ValueError(f"{len(clean)} clean and {len(watermarked)} watermarked paths; lists pair by position")
        return [os.fspath(p) for p in clean], [os.fspath(p) for p in watermarked], [-1] * len(clean), []
    clean, watermarked = os.fspath(clean), os.fspath(watermarked)
    if os.path.isdir(clean) != os.path.isdir(watermarked):
        raise ValueError(f"{clean!r} and {watermarked!r} must both be folders (paired by relative path) or "
                         "both lists (paired by line)")
    cpaths, clabels = list_images(clean)
    wpaths, _ = list_images(watermarked)
    if not os.path.isdir(clean):
        if len(cpaths) != len(wpaths):
            raise ValueError(f"{watermarked!r} lists {len(wpaths)} images, {clean!r} {len(cpaths)}; lists are "
                             "paired line by line")
        return cpaths, wpaths, clabels, []
    by_rel = {os.path.relpath(p, watermarked): p for p in wpaths}
    used = set()
    out_c, out_w, out_l, unpaired = [], [], [], []
    for p, label in zip(cpaths, clabels):
        rel = os.path.relpath(p, clean)
        if rel not in by_rel:
            unpaired.append((p, "clean"))
            continue
        used.add(rel)
        out_c.append(p)
        out_w.append(by_rel[rel])
        out_l.append(label)
    unpaired += [(p, "watermarked") for rel, p in by_rel.items() if rel not in used]
    if not out_c:
        raise ValueError(f"no image of {clean!r} has a partner of the same relative path in {watermarked!r}")
    return out_c, out_w, out_l, unpaired


def watermark_seed(seed, index):
    """The watermark seed of the image at `index` of the whole list, as `wmfeat audit` computes it."""
    return (seed * 1000003 + index) % (1 << 64)


def _crop(path, resize, crop, filter):
    with Image.load(path) as img, img.resize_shorter(resize, filter) as small:
        return small.center_crop(crop, crop)


def audit_files(model, clean, watermarked=None, preset="imagenet-w", seed=0, resize=None, crop=None, batch=16,
                threads=0, labels=False, save_examples=0, examples_dir=None, limit=0, start=0, precision="fp32",
                conv="auto", filter=None, norm=None):
    """An Audit of image pairs, equal bit for bit to `wmfeat audit` with the same options.

    model: a Model or a weight file path. clean: a folder, list file, image or list of paths.
    watermarked: pre-rendered twins (a folder paired by relative path, a list file or list of paths
    paired by position; no watermark is drawn), or None to draw `preset` with `seed` on each clean crop.
    labels: True takes them from the clean side's subfolders (or list file), a sequence gives one per
    clean image, False none. save_examples: write the first N watermarked inputs as the network saw them
    (PNG, before normalization) into examples_dir. start: the index of the first image in the whole list
    (a shard's offset; it decides the watermark seeds and example numbers). resize, crop: None for the
    model's defaults (256 and 224; Inception-v3 342 and 299), as `wmfeat audit`; filter (wmfeat.BILINEAR or
    BICUBIC) and norm (a Normalize): None for the model's (`wmfeat audit --filter`, `--normalize`). precision: "fp32" or
    "bf16" (`wmfeat audit --precision`); bf16 on a CPU without it raises wmfeat.Error, never runs as fp32.
    conv: "auto" or "direct" (`wmfeat audit --conv`).
    Returns (audit, info): info is a dict with "paths" (the clean path of each pair, in order), "skipped"
    (messages of images that could not be read), "unpaired" ((path, side) without a partner) and
    "precision" ("fp32" or "bf16"), "convolution" ("auto" or "direct"), "filter" and "norm" (as used), for
    run_provenance."""
    precision = Precision.of(precision)
    conv = ConvAlgorithm.of(conv)
    own_model = not isinstance(model, Model)
    if own_model:
        model = Model.open(model)
    resize = model.default_resize_size if resize is None else resize
    crop = model.default_input_size if crop is None else crop
    filter = model.default_filter if filter is None else filter
    norm = model.default_normalize if norm is None else norm
    unpaired = []
    if watermarked is not None:
        cpaths, wpaths, lab, unpaired = pair_images(clean, watermarked)
    else:
        cpaths, lab = (list(map(os.fspath, clean)), [-1] * len(clean)) if isinstance(clean, (list, tuple)) \
            else list_images(clean)
        wpaths = None
    if labels is not True and labels is not False:
        if len(labels) != len(cpaths):
            raise ValueError(f"labels: {len(labels)} for {len(cpaths)} images")
        lab = list(labels)
    elif not labels:
        lab = [-1] * len(cpaths)
    if limit:
        cpaths, lab = cpaths[:limit], lab[:limit]
        wpaths = wpaths[:limit] if wpaths is not None else None
    if save_examples:
        if examples_dir is None:
            raise ValueError("save_examples needs examples_dir")
        os.makedirs(examples_dir, exist_ok=True)
    audit = Audit.create(model.class_count, model.feature_count)
    info = {"paths": [], "skipped": [], "unpaired": unpaired, "precision": precision.label,
            "convolution": conv.label, "filter": filter, "norm": norm}
    wm = Watermark.from_preset(preset) if wpaths is None else None
    if wm is not None:
        wm.reference_size = crop  # as wmfeat audit: the preset's sizes follow the crop (AddWatermark(crop))
    try:
        with Session(model, max_batch=batch, input_size=crop, threads=threads, precision=precision,
                     conv=conv) as session:
            x = [session.input_batch(batch), session.input_batch(batch)]
            for lo in range(0, len(cpaths), batch):
                count = min(batch, len(cpaths) - lo)
                ok = []
                for j in range(lo, lo + count):
                    slot = j - lo
                    try:
                        with _crop(cpaths[j], resize, crop, filter) as c:
                            c.to_tensor(out=x[0], slot=slot, norm=norm)
                            if wpaths is not None:
                                marked = _crop(wpaths[j], resize, crop, filter)
                            else:
                                marked = wm.apply(c.clone(), watermark_seed(seed, start + j))
                            with marked:
                                marked.to_tensor(out=x[1], slot=slot, norm=norm)
                                if start + j < save_examples:
                                    stem = os.path.splitext(os.path.basename(cpaths[j]))[0]
                                    marked.save(os.path.join(examples_dir, f"{start + j:06d}_{stem}.png"))
                        ok.append(slot)
                    except Error as e:
                        info["skipped"].append(f"{cpaths[j]}: {e}")
                # each half through the network as one batch, as the program does
                cl, cf = session.run(x[0][:count])
                wl, wf = session.run(x[1][:count])
                if ok:
                    audit.add(cl[ok], wl[ok], cf[ok], wf[ok], np.asarray(lab[lo:lo + count], np.int32)[ok])
                    info["paths"] += [cpaths[lo + s] for s in ok]
    finally:
        if wm is not None:
            wm.close()
        if own_model:
            model.close()
    return audit, info


def write_reports(audit, out_dir, paths=None, top=10, per_image=None, rank="abs", bootstrap=200, seed=0,
                  level=0.95):
    """Writes report.json, classes.csv and channels.csv as `wmfeat audit` does with the same --rank,
    --bootstrap, --seed and --level, and with per_image a path the per-pair table with the p of the
    `top` classes ranked first by `rank`."""
    os.makedirs(out_dir, exist_ok=True)
    audit.set_bootstrap(bootstrap, seed, level)
    audit.write_json(os.path.join(out_dir, "report.json"))
    if audit.class_count:
        audit.write_csv(Target.CLASSES, os.path.join(out_dir, "classes.csv"))
    if audit.feature_count:
        audit.write_csv(Target.CHANNELS, os.path.join(out_dir, "channels.csv"))
    if per_image:
        k = min(top, audit.class_count)
        audit.write_pairs_csv(per_image, paths, audit.top(Target.CLASSES, rank, k))
