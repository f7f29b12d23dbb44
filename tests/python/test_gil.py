"""Library calls release the GIL: Python code in another thread keeps running during a long call."""
import threading
import time

import numpy as np

from wmfeat import Audit, Score, Target


def test_long_call_lets_other_threads_run():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(1500, 2048)).astype(np.float32)
    audits = []
    for _ in range(3):  # each scores() call runs for a fraction of a second in C
        a = Audit.create(0, 2048)
        a.add(clean_features=f, wm_features=f + np.float32(0.1))
        audits.append(a)
    in_c = threading.Event()
    finished = threading.Event()

    def work():
        for a in audits:
            in_c.set()
            a.scores(Target.CHANNELS, Score.AUC)  # the computation happens here, in C
        finished.set()

    ticks_during = 0
    t = threading.Thread(target=work)
    t0 = time.perf_counter()
    t.start()
    in_c.wait()
    while not finished.is_set():
        ticks_during += 1
        time.sleep(0)
    t.join()
    elapsed = time.perf_counter() - t0
    # Holding the GIL, the computation would leave this thread at most a few switch intervals
    # (5 ms each) of Python; released, it runs all along.
    assert elapsed > 0.1
    assert ticks_during > 1000, (ticks_during, elapsed)
