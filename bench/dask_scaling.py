"""Scaling on Dask (issue 13, point 5): one huge image in chunks, and a batch of files.

1. A 16384 × 16384 RGB image (uint8 in a ``.npy`` file, converted to float32 as it is
   read) in 2048² chunks through ``gaussian sigma=2`` and through
   ``gaussian sigma=1.4 | sobel | rescale mode=minmax``, on a LocalCluster of 1 then 2
   worker processes (one thread each), against the in-process tiled runner
   (``Pipeline.parse(...).run(array)``) on both cores and pinned to one. The cluster
   results are reduced on the workers (one float64 sum per chunk, checked against the
   in-process result) so that what is timed is the filtering, not the transfer of
   3.2 GB back to the client. Each configuration runs in its own child process, so its
   peak RSS is its own (the client's: for a cluster, scheduler and client, the
   workers listed apart).
2. A batch of small JPEGs (2000 of 64 × 64) through the real command,
   ``imgfilter gaussian DIR -o OUT --sigma 2``, with ``--jobs 2`` and with
   ``--scheduler ADDRESS`` (a LocalCluster of 2 worker processes, one thread each,
   started beforehand) and ``--scheduler processes`` (the command starts its own); the
   per-file cost is (time of N files - time of 1 file) / (N - 1), the outputs are
   checked byte for byte against the ``--jobs 2`` batch.

``python bench/dask_scaling.py`` (about 5 minutes on 2 cores and 24 GB; the in-process
chain holds about 10 GB), ``--quick`` for a 2048² image in 512² chunks and 200 files
(under a minute). ``--json PATH`` writes every figure there.

>>> parse_args(["--quick"]).size
2048
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = {
    "gaussian": "gaussian sigma=2",
    "chain": "gaussian sigma=1.4 | sobel | rescale mode=minmax",
}
CONFIGS = ("inprocess-2cores", "inprocess-1core", "dask-1worker", "dask-2workers")


def parse_args(argv=None) -> argparse.Namespace:
    """The options; ``--quick`` shrinks the image, the chunks and the batch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--size", type=int, help="side of the image (default 16384)")
    parser.add_argument("--chunk", type=int, help="side of a chunk (default 2048)")
    parser.add_argument("--files", type=int, help="files in the batch (default 2000)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per cell (best kept)")
    parser.add_argument("--only", choices=("array", "batch"), help="one half of the benchmark")
    parser.add_argument("--json", type=Path, help="write the figures there")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    quick = {"size": 2048, "chunk": 512, "files": 200}
    full = {"size": 16384, "chunk": 2048, "files": 2000}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# ---------------------------------------------------------------- the huge image


def make_source(path: Path, size: int) -> None:
    """A size × size × 3 uint8 ``.npy`` of noise over smooth gradients, written by bands."""
    image = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(size, size, 3))
    rng = np.random.default_rng(13)
    for y in range(0, size, 256):
        rows = np.arange(y, min(size, y + 256))[:, None, None]
        columns = np.arange(size)[None, :, None]
        base = (rows * 255 // size + columns * 128 // size + np.arange(3) * 40) % 256
        noise = rng.integers(-40, 41, (rows.shape[0], size, 3))
        image[y : y + rows.shape[0]] = np.clip(base + noise, 0, 255)
    image.flush()
    del image


class NpyChunks:
    """A ``.npy`` file seen as an array Dask slices: each worker opens the file itself
    (the path must be visible to every worker), nothing big travels in the graph."""

    def __init__(self, path: str):
        header = np.load(path, mmap_mode="r")
        self.path, self.shape, self.dtype, self.ndim = path, header.shape, header.dtype, 3

    def __getitem__(self, where):
        return np.array(np.load(self.path, mmap_mode="r")[where])


def chunk_sums(image: np.ndarray, chunk: int) -> list[float]:
    """One float64 sum per chunk of ``image``, row of chunks by row of chunks."""
    sums = []
    for y in range(0, image.shape[0], chunk):
        for x in range(0, image.shape[1], chunk):
            sums.append(float(image[y : y + chunk, x : x + chunk].sum(dtype=np.float64)))
    return sums


def _block_sum(block: np.ndarray) -> np.ndarray:
    return np.full((1,) * block.ndim, block.sum(dtype=np.float64))


def measure(config: str, pipeline_name: str, source: str, chunk: int, repeats: int) -> dict:
    """One configuration in this (child) process: best wall time, sums, peak RSS."""
    import imgfilter

    pipeline = imgfilter.Pipeline.parse(PIPELINES[pipeline_name])
    result: dict = {"config": config, "pipeline": pipeline_name, "load": os.getloadavg()[0]}
    if config.startswith("inprocess"):
        if config == "inprocess-1core":
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        times, cpu = [], []
        for _ in range(repeats):
            image = np.load(source, mmap_mode="r")
            start, start_cpu = time.perf_counter(), time.process_time()
            out = pipeline.run(image)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            sums = chunk_sums(out, chunk)
            del out
        result.update(seconds=min(times), times=times, cpu_seconds=min(cpu), sums=sums)
    else:
        result.update(_measure_dask(pipeline, int(config.split("-")[1][0]), source, chunk, repeats))
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _measure_dask(pipeline, workers: int, source: str, chunk: int, repeats: int) -> dict:
    import dask.array as da
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter() - start
        times, cpu = [], []
        for _ in range(repeats):
            image = da.from_array(NpyChunks(source), chunks=(chunk, chunk, 3))
            lazy = pipeline.run(image)
            before = sum(client.run(time.process_time).values()) + time.process_time()
            start = time.perf_counter()
            sums = lazy.map_blocks(_block_sum, chunks=(1,) * lazy.ndim, dtype=np.float64)
            sums = client.compute(sums).result()
            times.append(time.perf_counter() - start)
            after = sum(client.run(time.process_time).values()) + time.process_time()
            cpu.append(after - before)
            client.run(_forget_peak)
        worker_rss = client.run(_peak_rss_mb)
    return {
        "seconds": min(times),
        "times": times,
        "cpu_seconds": min(cpu),
        "cluster_start_seconds": started,
        "sums": [float(v) for v in sums.ravel()],
        "worker_peak_rss_mb": sorted(worker_rss.values()),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory, in MB (VmHWM: unlike ru_maxrss, not the
    peak of the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _forget_peak() -> None:
    import gc

    gc.collect()


def run_child(config: str, pipeline_name: str, source: Path, args) -> dict:
    """``measure`` in a fresh Python process; its JSON line."""
    command = [sys.executable, __file__, "--measure", config, pipeline_name, str(source)]
    command += [str(args.chunk), "--repeats", str(args.repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        raise SystemExit(f"{config} {pipeline_name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def array_part(args, work: Path) -> list[dict]:
    """Every configuration on both pipelines; the table rows."""
    source = work / "source.npy"
    start = time.perf_counter()
    make_source(source, args.size)
    print(f"# source {args.size}² RGB uint8 written in {time.perf_counter() - start:.1f} s")
    rows = []
    for name in PIPELINES:
        reference = None
        for config in CONFIGS:
            row = run_child(config, name, source, args)
            sums = np.array(row.pop("sums"))
            reference = sums if reference is None else reference
            scale = np.abs(reference).max() or 1.0
            row["max_sum_difference"] = float(np.abs(sums - reference).max() / scale)
            rows.append(row)
            print(f"# {name:8s} {config:16s} {row['seconds']:7.2f} s", flush=True)
    source.unlink()
    return rows


# ---------------------------------------------------------------- the batch


def make_files(folder: Path, count: int, side: int = 64) -> None:
    """``count`` small JPEGs of noise over gradients."""
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    ramp = np.linspace(0, 200, side)[None, :, None] + np.linspace(0, 55, side)[:, None, None]
    for i in range(count):
        pixels = np.clip(ramp + rng.normal(0, 20, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:05d}.jpg", quality=90)


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _command() -> list[str]:
    script = Path(sys.executable).with_name("imgfilter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imgfilter"]


def time_cli(folder: Path, out: Path, extra: list[str], repeats: int) -> float:
    """Best wall time of ``imgfilter gaussian folder -o out --sigma 2 extra`` (real process)."""
    best = float("inf")
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        command = [*_command(), "gaussian", str(folder), "-o", str(out), "--sigma", "2", "-q"]
        start = time.perf_counter()
        done = subprocess.run(command + extra, capture_output=True, text=True, env=_env())
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command + extra)} failed:\n{done.stderr}")
    return best


def batch_part(args, work: Path) -> list[dict]:
    """The batch with --jobs 2, --scheduler ADDRESS and --scheduler processes."""
    from distributed import Client, LocalCluster

    many, one = work / "many", work / "one"
    make_files(many, args.files)
    make_files(one, 1)
    rows = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster),
    ):
        modes = {
            "--jobs 2": ["--jobs", "2"],
            "--scheduler ADDRESS": ["--scheduler", cluster.scheduler_address],
            "--scheduler processes": ["--scheduler", "processes"],
        }
        for label, extra in modes.items():
            single = time_cli(one, work / "out-one", extra, args.repeats)
            out = work / f"out-{len(rows)}"
            total = time_cli(many, out, extra, args.repeats)
            rows.append(
                {
                    "mode": label,
                    "files": args.files,
                    "seconds": total,
                    "one_file_seconds": single,
                    "per_file_ms": 1000 * (total - single) / (args.files - 1),
                    "same_bytes": _same_files(work / "out-0", out),
                }
            )
            print(f"# batch {label:22s} {total:6.2f} s (1 file {single:.2f} s)", flush=True)
    return rows


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


# ---------------------------------------------------------------- report


def report(args, arrays: list[dict], batches: list[dict]) -> str:
    """The markdown tables."""
    lines = []
    loads = [row["load"] for row in arrays] or [0.0]
    if arrays:
        lines += [
            f"{args.size}² RGB (uint8 .npy read as float32), {args.chunk}² chunks, best of"
            f" {args.repeats}; cluster results reduced on the workers; CPU s: the client's"
            " process (and scheduler) plus every worker's; load average"
            f" {min(loads):.1f}-{max(loads):.1f} during the runs",
            "",
            "| pipeline | runner | wall s | vs in-process 1 core | vs 1 worker | CPU s"
            " | CPU vs in-process | client peak RSS MB | worker peak RSS MB | max rel. diff |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in PIPELINES:
            rows = {r["config"]: r for r in arrays if r["pipeline"] == name}
            one_core = rows["inprocess-1core"]["seconds"]
            one_worker = rows["dask-1worker"]["seconds"]
            own_cpu = rows["inprocess-1core"]["cpu_seconds"]
            for config, row in rows.items():
                workers = ", ".join(f"{v:.0f}" for v in row.get("worker_peak_rss_mb", [])) or "-"
                lines.append(
                    f"| {name} | {config} | {row['seconds']:.2f} | {one_core / row['seconds']:.2f}x"
                    f" | {one_worker / row['seconds']:.2f}x | {row['cpu_seconds']:.1f}"
                    f" | {row['cpu_seconds'] / own_cpu:.2f}x | {row['peak_rss_mb']:.0f}"
                    f" | {workers} | {row['max_sum_difference']:.1e} |"
                )
        starts = [r["cluster_start_seconds"] for r in arrays if "cluster_start_seconds" in r]
        lines += ["", f"LocalCluster start: {min(starts):.1f}-{max(starts):.1f} s (not timed)"]
    if batches:
        lines += [
            "",
            f"batch of {args.files} JPEGs 64×64, imgfilter gaussian --sigma 2, best of"
            f" {args.repeats}",
            "",
            "| mode | N files s | 1 file s | per file ms | same bytes as --jobs 2 |",
            "|---|---:|---:|---:|---|",
        ]
        for row in batches:
            lines.append(
                f"| {row['mode']} | {row['seconds']:.2f} | {row['one_file_seconds']:.2f}"
                f" | {row['per_file_ms']:.2f} | {row['same_bytes']} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark (or, with the hidden ``--measure``, one configuration)."""
    args = parse_args(argv)
    if args.measure:
        config, name, source, chunk = args.measure
        print(json.dumps(measure(config, name, source, int(chunk), args.repeats)))
        return 0
    cores = len(os.sched_getaffinity(0))
    print(f"# {cores} cores; imgfilter from {ROOT}", flush=True)
    with tempfile.TemporaryDirectory(prefix="imgfilter-dask-") as folder:
        work = Path(folder)
        arrays = array_part(args, work) if args.only in (None, "array") else []
        batches = batch_part(args, work) if args.only in (None, "batch") else []
    print(report(args, arrays, batches))
    if args.json:
        figures = {"args": {k: v for k, v in vars(args).items() if k != "json"}}
        figures.update(cores=cores, arrays=arrays, batches=batches, date=time.ctime())
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
