#!/usr/bin/python3
"""Watermark audit of one model over an image set, spread over a Dask distributed cluster.

Each task audits one shard (a contiguous block of the sorted image list) through the Python binding:
decode, resize / center-crop, draw the watermark preset on a copy, run both through the network, add
the (clean, watermarked) pair to a wmf_audit, and return the audit's saved state (bytes, or a path in
a shared folder with --state-dir). The driver merges the states in shard order with Audit.merge, which
gives exactly the audit of one process over the whole list (same pairs in the same order), and writes
the merged state and the reports.

Every shard state records the run's provenance exactly as `wmfeat audit --shard I/N` does (weights
fingerprint, full watermark recipe, seed, preprocessing, precision (--precision fp32|bf16), convolution (--conv auto|direct), stage, input
list fingerprint, shard, library version; docs/audit.md), so the states of both are interchangeable byte
for byte, merging refuses shards of another run naming the field, and needs every shard once
(Audit.merge_shards).

    # on this machine, 2 local workers:
    dask_audit.py resnet50.pth ~/imagenet/val --preset imagenet-w --shards 8 --out-dir report/
    # on a running cluster (dask-scheduler / dask-worker, or dask-jobqueue):
    dask_audit.py resnet50.pth /shared/val --scheduler tcp://10.0.0.5:8786 --shards 64 \\
        --state-dir /shared/states --out-dir /shared/report

The image paths and the weights path must be readable by every worker. A watermark's seed depends on
--seed and the image's index in the whole list (as in `wmfeat audit`), so results do not depend on how
the list is sharded.
See docs/scale-out.md.
"""
import argparse
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wmfeat  # noqa: E402
from wmfeat import Audit, Image, Model, Order, Score, Session, Target, Watermark, Weights  # noqa: E402

# ---- the image list (the same rules as the wmfeat program) ---------------------------------------

def list_images(source, limit=0):
    """(paths, labels) as wmfeat.list_images lists them; a source without images ends the program."""
    try:
        return wmfeat.list_images(source, limit)
    except ValueError as e:
        raise SystemExit(str(e))


def shard_bounds(count, i, n):
    """[start, stop) of shard i of n: contiguous blocks whose sizes differ by at most one."""
    if not 0 <= i < n:
        raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
    return count * i // n, count * (i + 1) // n


# ---- one shard, run on a worker -------------------------------------------------------------------

def image_seed(seed, index):
    """The watermark seed of the image at `index` of the whole list: the formula of `wmfeat audit`, so
    states from this script and from `wmfeat audit --shard` are interchangeable."""
    return (seed * 1000003 + index) % (1 << 64)


_models = {}
_models_lock = threading.Lock()


def _model(weights, arch):
    """One loaded model per worker process: it is immutable and shared by the worker's threads."""
    with _models_lock:
        key = (os.path.abspath(weights), arch)
        if key not in _models:
            _models[key] = Model.open(weights, arch)
        return _models[key]


def _filter(options):
    return wmfeat.BICUBIC if options.get("filter") == "bicubic" else wmfeat.BILINEAR


def _norm(options):
    return wmfeat.INCEPTION if options.get("normalize") == "inception" else wmfeat.IMAGENET


def resolve_preprocessing(weights, options):
    """Sets the preprocessing options left to the model (resize and crop 0, filter and normalize "default")
    to the model's, as `wmfeat audit` does, before the tasks are made: every shard then uses the same."""
    model = _model(weights, options["arch"])
    options["resize"] = options["resize"] or model.default_resize_size
    options["crop"] = options["crop"] or model.default_input_size
    if options["filter"] == "default":
        options["filter"] = "bicubic" if model.default_filter == wmfeat.BICUBIC else "bilinear"
    if options["normalize"] == "default":
        options["normalize"] = "inception" if model.default_normalize == wmfeat.INCEPTION else "imagenet"


def audit_images(weights, paths, labels, start, options):
    """An Audit of the (clean, watermarked) pairs of `paths`, whose first item has index `start` in the
    whole list (it decides the watermark seeds). Images that cannot be decoded are skipped and returned.
    """
    o = options
    model = _model(weights, o["arch"])
    batch = o["batch"]
    crop = o["crop"]
    audit = Audit.create(model.num_classes, model.feature_count)
    skipped = []
    with Watermark.from_preset(o["preset"]) as wm, \
            Session(model, max_batch=2 * batch, input_size=crop, threads=o["threads"],
                    precision=o.get("precision", "fp32"), conv=o.get("conv", "auto")) as session:
        wm.reference_size = crop  # as wmfeat audit: the preset's sizes follow the crop (AddWatermark(crop))
        x = session.input_batch(2 * batch)
        logits = np.empty((2 * batch, model.num_classes), np.float32)
        features = np.empty((2 * batch, model.feature_count), np.float32)
        for lo in range(0, len(paths), batch):
            rows, row_labels = 0, []
            for j in range(lo, min(lo + batch, len(paths))):
                try:
                    with Image.load(paths[j]) as img, img.resize_shorter(o["resize"], _filter(o)) as small, \
                            small.center_crop(crop, crop) as clean:
                        # ImageNet-W draws after resize / crop and before normalization
                        with clean.clone() as marked:
                            wm.apply(marked, image_seed(o["seed"], start + j))
                            clean.to_tensor(out=x, slot=rows, norm=_norm(o))
                            marked.to_tensor(out=x, slot=batch + rows, norm=_norm(o))
                except wmfeat.Error as e:
                    skipped.append(f"{paths[j]}: {e}")
                    continue
                row_labels.append(labels[j])
                rows += 1
            if rows == 0:
                continue
            # clean and watermarked images in two passes of `rows` images, as `wmfeat audit` runs them
            # (an image's outputs do not depend on its batch: tests/nn/test_parity.c asserts it on the
            # CPUs CI runs on; the same passes keep the states the same bytes on any other)
            session.run(x[:rows], logits=logits[:rows], features=features[:rows])
            session.run(x[batch:batch + rows], logits=logits[batch:batch + rows],
                        features=features[batch:batch + rows])
            audit.add(logits[:rows], logits[batch:batch + rows], features[:rows],
                      features[batch:batch + rows], np.array(row_labels, np.int32))
    return audit, skipped


def provenance(weights, paths, labels, options, source=None):
    """The provenance fields of this run (all but "shard"), as `wmfeat audit` records them: `paths` and
    `labels` are the whole list (before sharding) as listed from `source` (the input folder: paths are
    hashed relative to it), labels -1 where unknown."""
    rel = [wmfeat.relative_to_input(p, source) for p in paths] if source else list(paths)
    with Weights.open(weights) as w, Model.load(w, options["arch"]) as model, \
            Watermark.from_preset(options["preset"]) as wm:
        wm.reference_size = options["crop"]
        fields = wmfeat.run_provenance(w, model, wm, options["seed"], options["resize"], options["crop"],
                                       wmfeat.list_fingerprint(rel, labels),
                                       precision=options.get("precision", "fp32"),
                                       conv=options.get("conv", "auto"), filter=_filter(options),
                                       norm=_norm(options))
    del fields["shard"]
    return fields


def stamp(audit, fields, shard, shards, items):
    """Records the provenance `fields` of shard `shard` of `shards` and the `items` it consumed."""
    audit.provenance = dict(fields, shard=f"{shard}/{shards}")
    audit.items_done = items


def state_path(state_dir, shard):
    """shard_0000.wmfa, ...: zero-padded, so a sorted glob lists the shards in order."""
    return os.path.join(state_dir, f"shard_{shard:04d}.wmfa")


def audit_shard(weights, paths, labels, start, options, state_dir=None, shard=0, shards=1):
    """Dask task: audits shard `shard` of `shards`; returns (state bytes or state path, pairs, skipped
    images). With options["provenance"] (see provenance()) the state records it."""
    audit, skipped = audit_images(weights, paths, labels, start, options)
    with audit:
        if "provenance" in options:
            stamp(audit, options["provenance"], shard, shards, len(paths))
        if state_dir:
            path = state_path(state_dir, shard)
            audit.save(path)
            return path, audit.num_pairs, skipped
        return audit.to_bytes(), audit.num_pairs, skipped


# ---- the driver ------------------------------------------------------------------------------------

def _load(state):
    return Audit.load(state) if isinstance(state, (str, os.PathLike)) else Audit.from_bytes(state)


def merge_states(states, num_classes=None, num_features=None):
    """Merges shard states (bytes or paths) into one Audit: states with provenance through
    Audit.merge_shards (each shard once, any order, same run), states without (libwmfeat 1.0) in the
    order given."""
    parts = [_load(s) for s in states]
    try:
        if any(p.provenance for p in parts):
            return Audit.merge_shards(parts)
        merged = Audit.create(parts[0].num_classes, parts[0].num_features)
        for part in parts:
            merged.merge(part)
        return merged
    finally:
        for part in parts:
            part.close()


def run_on_cluster(client, weights, paths, labels, options, shards, state_dir=None, log=print,
                   resume=False, source=None):
    """Submits one task per shard to a distributed Client, gathers the states as tasks finish and
    merges them in shard order. Returns (merged Audit, skipped images). The states record the run's
    provenance (options["provenance"], else computed here with `source`, see provenance()). With
    `resume`, shards whose state is already in `state_dir` are not run again (states are written
    atomically, so an existing file is complete), after checking that they come from this run: a state
    of another run raises wmfeat.Error naming the field."""
    from distributed import as_completed
    if "provenance" not in options:
        options = dict(options, provenance=provenance(weights, paths, labels, options, source))
    futures = {}
    results = [None] * shards
    for i in range(shards):
        lo, hi = shard_bounds(len(paths), i, shards)
        if resume and state_dir and os.path.exists(state_path(state_dir, i)):
            with Audit.load(state_path(state_dir, i)) as old:
                try:
                    old.check_provenance(dict(options["provenance"], shard=f"{i}/{shards}"))
                except wmfeat.Error as e:
                    raise wmfeat.Error(e.status, e.name,
                                       f"cannot reuse {state_path(state_dir, i)}: {e.message}") from None
            results[i] = (state_path(state_dir, i), None, [])
            log(f"shard {i} reused from {results[i][0]}")
            continue
        f = client.submit(audit_shard, weights, paths[lo:hi], labels[lo:hi], lo, options, state_dir, i, shards,
                          pure=False, key=f"wmfeat-audit-shard-{i}-of-{shards}-{time.time_ns()}")
        futures[f] = i
    done, t0 = 0, time.time()
    for f in as_completed(futures):
        results[futures[f]] = f.result()  # raises the task's exception, if any
        done += 1
        log(f"shard {futures[f]} done ({done}/{len(futures)}, {time.time() - t0:.1f} s)")
    skipped = [s for r in results for s in r[2]]
    return merge_states([r[0] for r in results]), skipped


def write_reports(audit, out_dir, log=print, top=10):
    os.makedirs(out_dir, exist_ok=True)
    audit.save(os.path.join(out_dir, "audit.wmfa"))
    audit.write_json(os.path.join(out_dir, "report.json"))
    if audit.num_classes:
        audit.write_csv(Target.CLASSES, os.path.join(out_dir, "classes.csv"))
        audit.write_svg_classes(os.path.join(out_dir, "classes.svg"), Score.AUC, Order.FROM_HALF,
                                min(20, audit.num_classes))
        log("classes moved most by the watermark (AUC of the logit, clean vs watermarked):")
        for c in audit.rank(Target.CLASSES, Score.AUC, Order.FROM_HALF, min(top, audit.num_classes)):
            name = audit.class_name(int(c)) or ""
            auc = audit.scores(Target.CLASSES, Score.AUC)[c]
            log(f"  {int(c):5d} {name[:30]:30s} AUC {auc:.3f}")
    if audit.num_features:
        audit.write_csv(Target.CHANNELS, os.path.join(out_dir, "channels.csv"))
        audit.write_svg_histogram(os.path.join(out_dir, "channels.svg"), Target.CHANNELS, Score.AUC, 50)
        counts = [audit.count_above(Target.CHANNELS, Score.D, t) for t in wmfeat.D_THRESHOLDS]
        log(f"channels with d above {' / '.join(f'{t:g}' for t in wmfeat.D_THRESHOLDS)}: {' / '.join(map(str, counts))}"
            f" of {audit.num_features}")
    clean, wm, labelled = audit.accuracy() if audit.num_classes else (float("nan"),) * 2 + (0,)
    if labelled:
        log(f"top-1 accuracy on {labelled} labelled pairs: clean {clean:.4f}, watermarked {wm:.4f}"
            f" (gap {wm - clean:+.4f})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="weight file (.pth or .safetensors), readable by every worker")
    p.add_argument("input", help="image folder, image file, or list of paths (path<TAB>label)")
    p.add_argument("--preset", default="imagenet-w", help="watermark preset (default imagenet-w)")
    p.add_argument("--arch", default=None, help="architecture (default: inferred from the weights)")
    p.add_argument("--scheduler", help="address of a running scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    p.add_argument("--shards", type=int, default=0, help="tasks (default: 4 per worker thread)")
    p.add_argument("--state-dir", help="shared folder for shard states (default: return them as bytes)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the shard states already in --state-dir (same list, shards and options)")
    p.add_argument("--out-dir", default="wmfeat-report", help="merged state and reports")
    p.add_argument("--batch", type=int, default=8, help="image pairs per forward pass")
    p.add_argument("--threads", type=int, default=1, help="compute threads per task")
    p.add_argument("--resize", type=int, default=0, help="shorter side before cropping (default: the model's)")
    p.add_argument("--crop", type=int, default=0, help="center crop (default: the model's)")
    p.add_argument("--filter", choices=("default", "bilinear", "bicubic"), default="default",
                   help="the resize's interpolation (default: the model's, `wmfeat audit --filter`)")
    p.add_argument("--normalize", choices=("default", "imagenet", "inception"), default="default",
                   help="Normalize's mean and std (default: the model's, `wmfeat audit --normalize`)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--conv", choices=("auto", "direct"), default="auto",
                   help="convolution algorithm, as wmfeat --conv (auto: Winograd where docs/models.md's rule admits it)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="the forward pass's precision (bf16 needs AVX512-BF16 or AMX on every worker; "
                        "without it the shards fail, never run as fp32)")
    p.add_argument("--labels", action="store_true",
                   help="labels from the subfolders (sorted, like ImageFolder) or the list's tab column")
    p.add_argument("--limit", type=int, default=0, help="first N images only")
    a = p.parse_args(argv)

    from distributed import Client, LocalCluster
    # Tasks must refer to this file as the module `dask_audit` (importable on the workers, see
    # docs/scale-out.md), not as __main__, which would be pickled by value with its model cache.
    import dask_audit as this
    paths, labels = list_images(a.input, a.limit)
    if not a.labels:  # as `wmfeat audit`: labels only when asked for
        labels = [-1] * len(paths)
    if a.precision == "bf16" and not a.scheduler and not wmfeat.has_bf16():  # the LocalCluster runs here
        raise SystemExit(f"--precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX; oneDNN "
                         f"dispatches to {wmfeat.isa()}): bf16 is refused, never run as fp32")
    options = dict(arch=a.arch, preset=a.preset, batch=a.batch, threads=a.threads, resize=a.resize,
                   crop=a.crop, seed=a.seed, precision=a.precision, conv=a.conv, filter=a.filter,
                   normalize=a.normalize)
    resolve_preprocessing(os.path.abspath(a.weights), options)
    # the provenance hashes the list as found from the input (relative paths), before abspath
    options["provenance"] = provenance(os.path.abspath(a.weights), paths, labels, options, a.input)
    paths = [os.path.abspath(x) for x in paths]
    if a.state_dir:
        os.makedirs(a.state_dir, exist_ok=True)
    cluster = None
    if a.scheduler:
        client = Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        workers = sum(client.nthreads().values())
        shards = a.shards or max(1, min(len(paths), 4 * workers))
        print(f"{len(paths)} images, {shards} shards on {workers} worker threads")
        t0 = time.time()
        if a.resume and not a.state_dir:
            raise SystemExit("--resume needs --state-dir")
        audit, skipped = this.run_on_cluster(client, os.path.abspath(a.weights), paths, labels, options,
                                             shards, a.state_dir, resume=a.resume)
        print(f"{audit.num_pairs} pairs audited in {time.time() - t0:.1f} s"
              f" ({audit.num_pairs / max(time.time() - t0, 1e-9):.1f} pairs/s)")
        for s in skipped:
            print(f"skipped {s}", file=sys.stderr)
        write_reports(audit, a.out_dir)
        print(f"wrote {a.out_dir}/audit.wmfa, report.json, CSV and SVG figures")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
