#!/usr/bin/python3
"""Benchmark (not a test): the same audit through dask_audit in one process and on a Dask LocalCluster,
and the cost of the binding's calls. Prints pairs per second and ratios measured in the same run.

    /usr/bin/python3 examples/python/bench_dask.py WEIGHTS IMAGE_FOLDER [--images 64] [--workers 2]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dask_audit  # noqa: E402
from wmfeat import Audit  # noqa: E402


def timed(f, *args, **kw):
    t0 = time.perf_counter()
    r = f(*args, **kw)
    return r, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("images")
    p.add_argument("--images", dest="count", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    a = p.parse_args()
    from distributed import Client, LocalCluster

    paths, labels = dask_audit.list_images(a.images)
    paths = [os.path.abspath(x) for x in (paths * (a.count // len(paths) + 1))[:a.count]]
    labels = [-1] * len(paths)
    opts = dict(arch=None, preset="imagenet-w", batch=a.batch, threads=1, resize=256, crop=224, seed=0)
    weights = os.path.abspath(a.weights)

    dask_audit.audit_images(weights, paths[:2], labels[:2], 0, opts)  # load the model once (warm-up)
    (one, _), t_one = timed(dask_audit.audit_images, weights, paths, labels, 0, opts)
    (two_thr, _), t_two_thr = timed(dask_audit.audit_images, weights, paths, labels, 0, dict(opts, threads=a.workers))
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_audit.run_on_cluster(client, weights, paths[:2 * a.workers], labels[:2 * a.workers], opts,
                                  a.workers, log=lambda s: None)  # warm-up: each worker loads the model
        (merged, _), t_dask = timed(dask_audit.run_on_cluster, client, weights, paths, labels, opts,
                                    4 * a.workers, log=lambda s: None)
    assert merged.to_bytes() == one.to_bytes() == two_thr.to_bytes()
    n = len(paths)
    print(f"{n} image pairs, ResNet from {os.path.basename(weights)}, batch {a.batch}, 224 px, imagenet-w")
    print(f"one process, 1 thread:            {n / t_one:7.2f} pairs/s   (1.00x)")
    print(f"one process, {a.workers} threads:            {n / t_two_thr:7.2f} pairs/s   ({t_one / t_two_thr:.2f}x)")
    print(f"Dask LocalCluster, {a.workers} workers x 1:   {n / t_dask:7.2f} pairs/s   ({t_one / t_dask:.2f}x)"
          f"  merged state equal to the single run: yes")

    # binding overhead: a call that does no work, and Audit.add of one ResNet-50-sized pair
    audit = Audit.create(1000, 2048)
    reps = 20000
    _, t = timed(lambda: [audit.num_pairs for _ in range(reps)])
    print(f"a trivial call through the binding (Audit.num_pairs): {t / reps * 1e6:.2f} us")
    row = np.random.default_rng(0).normal(size=(1, 3048)).astype(np.float32)
    _, t = timed(lambda: [audit.add(row[:, :1000], row[:, :1000], row[:, 1000:], row[:, 1000:])
                          for _ in range(2000)])
    print(f"Audit.add of one pair (1000 logits, 2048 features): {t / 2000 * 1e6:.2f} us")


if __name__ == "__main__":
    main()
