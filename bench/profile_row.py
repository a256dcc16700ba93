"""Profile imgfilter's side of one benchmark row with cProfile.

    python bench/profile_row.py "gaussian σ=2" [--size 4096] [--top 15] [--threads]

The row is picked by regex from bench/workloads.py, run once to warm up, then
once under cProfile. cProfile sees only the thread it runs in, so by default
every ThreadPoolExecutor runs its tasks inline (one core): the table shows where
the single-core time goes. ``--threads`` keeps the pools (then worker time shows
up as waiting).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import pstats
import re
import sys
import time

import run  # puts the checkout and bench/ on sys.path; imports no imgfilter module


class InlineExecutor(concurrent.futures.Executor):
    """A ThreadPoolExecutor stand-in that runs each task at once, in the caller's thread."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", help="regex matching a workload name, e.g. 'gaussian σ=2'")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    parser.add_argument("--threads", action="store_true", help="keep the thread pools")
    args = parser.parse_args()
    if not args.threads:  # before imgfilter is imported, so its modules bind the stand-in
        concurrent.futures.ThreadPoolExecutor = InlineExecutor

    import workloads

    matches = [w for w in workloads.workloads() if re.search(args.row, w.name, re.IGNORECASE)]
    if not matches:
        sys.exit(f"no workload matches {args.row!r}")
    images = run.build_images(args.size, 16)
    for work in matches:
        impl = work.impls[0]
        image = impl.prepare(images[work.image])
        impl.run(image)
        start = time.perf_counter()
        impl.run(image)
        plain = time.perf_counter() - start
        profiler = cProfile.Profile()
        profiler.enable()
        impl.run(image)
        profiler.disable()
        mode = "threads" if args.threads else "one thread"
        print(
            f"== {work.name}, {run.label(images[work.image])}: {1000 * plain:.0f} ms ({mode}, "
            "no profiler); cProfile, by own time:"
        )
        print(table(pstats.Stats(profiler), args.top))
    return 0


def table(stats: pstats.Stats, top: int) -> str:
    """The ``top`` functions by own time, in ms, with paths shortened."""
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]
    out = ["    calls    own ms    cum ms  function"]
    for (path, line, name), (_, calls, own, cumulative, _) in rows:
        where = name if path == "~" else f"{_short(path)}:{line}({name})"
        out.append(f"{calls:>9} {1000 * own:9.1f} {1000 * cumulative:9.1f}  {where}")
    return "\n".join(out)


def _short(path: str) -> str:
    for marker in ("site-packages/", f"{run.REPO}/", r"lib/python3\.\d+/"):
        parts = re.split(marker, path, maxsplit=1)
        if len(parts) == 2:
            return parts[1]
    return path


if __name__ == "__main__":
    sys.exit(main())
