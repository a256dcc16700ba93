"""The compiled tap loop against the numpy engine and OpenCV (not part of the test suite).

    python bench/native_taps.py [--runs 5] [--clock cpu]

Rows: a 3×3 kernel (``imgfilter.engine.convolve``, direct strategy) and a σ=2
Gaussian (``imgfilter.gaussian``, separable) on 4096×4096×3 float32 and uint8
images (uint8 in, float32 out), on 1 and 2 threads, then the per-call cost at
1024² and 256². Each figure is the median of ``--runs`` timings (each timing
averages enough calls to last about 0.2 s). OpenCV gets the same border
(``BORDER_REFLECT_101`` is imgfilter's ``reflect``) and the same thread count.
``--clock cpu`` times the process's CPU seconds instead of the wall clock: steadier
on a shared machine, and on one thread the same thing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import cv2
import numpy as np

import imgfilter
from imgfilter import _compute, _native, engine

PURE = _native.PURE_VARIABLE
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def timed(run, runs: int) -> float:
    """Median seconds per call of ``runs`` timings, each of enough calls to last ~0.2 s."""
    run()
    start = clock()
    run()
    once = max(clock() - start, 1e-6)
    calls = max(1, int(0.2 / once))
    samples = []
    for _ in range(runs):
        start = clock()
        for _ in range(calls):
            run()
        samples.append((clock() - start) / calls)
    return statistics.median(samples)


def threads(count: int) -> None:
    """imgfilter's band pool and OpenCV on ``count`` threads (1 or all cores)."""
    cv2.setNumThreads(count)
    _compute.PARALLEL_MIN_BYTES = 1 << 20 if count > 1 else 1 << 62


def engines(image: np.ndarray, case: str, runs: int) -> dict[str, float]:
    weights = np.array([[1.0, 2.0, 1.0], [0.0, 0.5, 0.0], [-1.0, -2.0, -1.25]])
    if case == "3x3":
        ours = lambda: engine.convolve(image, weights)  # noqa: E731
        cv = lambda: cv2.filter2D(  # noqa: E731
            image, cv2.CV_32F, weights.astype(np.float32), borderType=cv2.BORDER_REFLECT_101
        )
    else:
        ours = lambda: imgfilter.gaussian(image, sigma=2)  # noqa: E731
        as_float = image.dtype != np.float32

        def cv():
            source = image.astype(np.float32) if as_float else image
            return cv2.GaussianBlur(source, (17, 17), 2, borderType=cv2.BORDER_REFLECT_101)

    os.environ.pop(PURE, None)
    compiled = timed(ours, runs)
    os.environ[PURE] = "1"
    pure = timed(ours, runs)
    os.environ.pop(PURE, None)
    return {"compiled": compiled, "numpy": pure, "opencv": timed(cv, runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clock", choices=sorted(CLOCK), default="wall")
    arguments = parser.parse_args()
    global clock
    runs, clock = arguments.runs, CLOCK[arguments.clock]
    print("engine:", _native.engine(), "| clock:", arguments.clock, "| load:", os.getloadavg())
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    images = {"float32": big.astype(np.float32), "uint8": big}
    print(f"{'case':34} {'compiled':>9} {'numpy':>9} {'opencv':>9} {'vs numpy':>9} {'vs cv2':>7}")

    def row(label: str, figures: dict[str, float], unit: float = 1e3) -> None:
        c, n, o = figures["compiled"], figures["numpy"], figures["opencv"]
        print(
            f"{label:34} {c * unit:9.2f} {n * unit:9.2f} {o * unit:9.2f}"
            f" {n / c:8.2f}x {c / o:6.2f}x"
        )

    for count in (1, 2):
        threads(count)
        for kind, image in images.items():
            for case in ("3x3", "gaussian σ=2"):
                label = f"4096² RGB {kind} {case}, {count} thr (ms)"
                row(label, engines(image, case.split()[0], runs))
    threads(os.cpu_count() or 1)
    for side in (1024, 256):
        image = images["float32"][:side, :side].copy()
        for case in ("3x3", "gaussian σ=2"):
            unit, name = (1e3, "ms") if side > 256 else (1e6, "µs")
            row(f"{side}² RGB float32 {case} ({name})", engines(image, case.split()[0], runs), unit)


if __name__ == "__main__":
    main()
