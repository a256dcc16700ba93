"""Benchmark imgfilter against OpenCV, scipy.ndimage, scikit-image, Pillow, libvips, ImageMagick.

    python bench/run.py [--size 4096] [--quick] [--json PATH] [--only REGEX]

Every row times imgfilter and its competitors interleaved (imgfilter, then each
competitor, round-robin), after one warm-up call each, and reports medians and
the ratio imgfilter / competitor (below 1: imgfilter is faster). Before a time
counts, the competitor's warm-up output is checked against imgfilter's; a
mismatch is marked "!" and listed. Every timed run starts with the CPU caches
emptied of its input (bench/caches.py). See bench/README.md.

Freed memory stays in this process (glibc's ``MALLOC_MMAP_MAX_=0`` and a trim
threshold larger than any run, set by re-starting the process once): on a virtual
machine that hands free pages back to its host (Firecracker's free page reporting,
measured here), memory freed more than about 2 s earlier costs ~2 ms per MB to touch
again, and in a round-robin only the cell after the slowest one would pay it.
``--cold-memory`` measures without it. The commands of the CLI rows run with the
environment as it was.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]  # benchmark this checkout's imgfilter

import batch_rows  # noqa: E402
import caches  # noqa: E402
import cli_rows  # noqa: E402
import huge_rows  # noqa: E402
import workloads  # noqa: E402

API_COLUMNS = ["opencv", "scipy", "skimage", "pillow"]
CLI_COLUMNS = ["vips", "imagemagick"]
PHOTO = REPO / "samples" / "rocket.jpg"


@dataclass
class Cell:
    """One library's measurements in one row."""

    library: str
    call: Callable[[], tuple[float, Any]] | None
    n: int
    times: list[float] = field(default_factory=list)
    status: str = "ok"  # ok, missing, error, absent
    message: str = ""
    check: str = ""  # "", "ok", "approx" or "mismatch"
    check_detail: str = ""
    note: str = ""
    peak_mb: float | None = None
    out_bytes: int | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and self.status == "ok" else None


# --- measuring ------------------------------------------------------------------------


def measure(cells: list[Cell], repeats: int, slow: float) -> dict[str, Any]:
    """Warm up every cell, then time them round-robin; return the warm-up outputs."""
    outputs = {}
    for cell in cells:
        if cell.call is None:
            continue
        try:
            seconds, outputs[cell.library] = cell.call()
        except workloads.Missing as exc:
            cell.status, cell.message = "missing", str(exc)
            continue
        except Exception as exc:  # a failing library is a table cell, not a crash
            cell.status, cell.message = "error", f"{type(exc).__name__}: {exc}"
            continue
        if seconds > slow:  # a run this long needs no warm-up: it counts, and n drops to 3
            cell.times.append(seconds)
            cell.n = min(cell.n, 3)
    for _ in range(repeats):
        for cell in cells:
            if cell.status == "ok" and cell.call is not None and len(cell.times) < cell.n:
                try:
                    cell.times.append(cell.call()[0])
                except Exception as exc:
                    cell.status, cell.message = "error", f"{type(exc).__name__}: {exc}"
    return outputs


def timed(fn: Callable[[Any], Any], arg: Any, calls: int = 1) -> tuple[float, Any]:
    """Seconds per call of ``fn(arg)``, over ``calls`` calls in a row, and its result;
    the caches hold none of ``arg`` at the start (see bench/caches.py)."""
    gc.collect()
    caches.evict()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            out = fn(arg)
        return (time.perf_counter() - start) / calls, out
    finally:
        gc.enable()


TINY = 256
"""Side of the third image, for the per-call cost of a few rows (issue 14: 256²)."""
TINY_CALLS = 50
"""Calls per timed run on the 256² image, whose per-call cost is what its rows show."""


def api_row(work: workloads.Workload, images: dict, key: str, repeats: int, slow: float) -> dict:
    image = images[key]
    calls = TINY_CALLS if key.endswith("@tiny") else 1
    cells = []
    for impl in work.impls:
        if impl.library != "imgfilter" and workloads.LIBRARIES.get(impl.library) is None:
            cells.append(
                Cell(
                    impl.library, None, 0, status="absent", message="not installed", note=impl.note
                )
            )
            continue
        arg = impl.prepare(image)
        cells.append(
            Cell(
                impl.library, lambda f=impl.run, a=arg: timed(f, a, calls), repeats, note=impl.note
            )
        )
    outputs = measure(cells, repeats, slow)
    ours = outputs.get("imgfilter")
    for cell, impl in zip(cells[1:], work.impls[1:], strict=True):
        if cell.status == "ok" and ours is not None and impl.check is not None:
            judge(cell, impl.check, np.asarray(ours), impl.result(outputs[cell.library]))
    return row_record("api", work.name, label(image), cells, work.targets, work.relative)


def judge(cell: Cell, check: Callable, ours: np.ndarray, theirs: np.ndarray) -> None:
    ok, cell.check_detail = check(ours, theirs)
    cell.check = "approx" if getattr(check, "approx", False) else ("ok" if ok else "mismatch")


def cli_row(
    row: cli_rows.CliRow, tools: dict, source: Path, work: Path, repeats: int, slow: float
) -> dict:
    cells, outputs = [], {}
    for command in row.commands:
        prefix, why = tools.get(command.tool, (None, "unknown tool"))
        if prefix is None:
            status = "missing" if command.tool == "imgfilter" else "absent"
            cells.append(Cell(command.tool, None, 0, status=status, message=why, note=command.note))
            continue
        folder = work / command.tool
        folder.mkdir(exist_ok=True)
        out = folder / f"out.{row.fmt}"
        argv = command.argv(prefix, source, out, folder)
        env = cli_rows.imgfilter_env() if command.tool == "imgfilter" else None
        cell = Cell(command.tool, None, repeats, note=command.note)
        cell.call = lambda a=argv, e=env, o=out, c=cell: run_cli(a, e, o, c)
        cells.append(cell)
        outputs[command.tool] = out
    measure(cells, repeats, slow)
    ours = cells[0]
    for cell, command in zip(cells[1:], row.commands[1:], strict=True):
        if cell.status == "ok" and ours.status == "ok" and command.check is not None:
            judge(cell, command.check, decode(outputs["imgfilter"]), decode(outputs[command.tool]))
    record = row_record("cli", row.name, label_file(source), cells, row.targets, None)
    record["peak_limit"] = row.peak_limit
    return record


def run_cli(argv: list[str], env: dict | None, out: Path, cell: Cell) -> tuple[float, None]:
    if out.is_dir():
        shutil.rmtree(out)  # a batch's output folder
    out.unlink(missing_ok=True)
    run = cli_rows.run_command(argv, env)
    if run.returncode != 0:
        last = run.stderr.splitlines()[-1] if run.stderr else ""
        raise RuntimeError(f"exit {run.returncode}: {last}")
    if run.peak_mb == run.peak_mb:  # not NaN
        cell.peak_mb = max(cell.peak_mb or 0.0, run.peak_mb)
    cell.out_bytes = out.stat().st_size if out.is_file() else None
    return run.seconds, None


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB" if im.mode not in ("L", "1") else "L"), np.float32)


def startup_row(tools: dict, repeats: int) -> dict:
    """`imgfilter --help` (issue 5: under 150 ms), beside a bare `python -c pass`."""
    prefix = tools["imgfilter"][0]
    cells = [Cell("imgfilter", None, repeats), Cell("python -c pass", None, repeats)]
    if prefix is None:
        cells[0].status, cells[0].message = "missing", tools["imgfilter"][1]
    else:
        cells[0].call = lambda: (
            cli_rows.run_command([*prefix, "--help"], cli_rows.imgfilter_env()).seconds,
            None,
        )
    cells[1].call = lambda: (cli_rows.run_command([sys.executable, "-c", "pass"]).seconds, None)
    measure(cells, repeats, slow=60)
    cells[1].note = "the interpreter's own start-up, for scale"
    return row_record("cli", "cli imgfilter --help", "", cells, {}, None)


# --- records, targets, table ----------------------------------------------------------


def row_record(section, name, image, cells, targets, relative) -> dict:
    ours = cells[0].median
    record = {
        "section": section,
        "workload": name,
        "image": image,
        "targets": targets,
        "relative": relative,
        "cells": {},
    }
    for cell in cells:
        entry = {
            "status": cell.status,
            "median_ms": ms(cell.median),
            "runs_ms": [round(1000 * t, 2) for t in cell.times] if cell.median else [],
            "message": cell.message,
            "note": cell.note,
        }
        if cell is not cells[0]:
            theirs = cell.median
            entry["ratio"] = round(ours / theirs, 3) if ours and theirs else None
            entry["check"], entry["check_detail"] = cell.check, cell.check_detail
        if cell.peak_mb is not None:
            entry["peak_mb"] = round(cell.peak_mb, 1)
        if cell.out_bytes is not None:
            entry["output_bytes"] = cell.out_bytes
        record["cells"][cell.library] = entry
    return record


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 2)


def evaluate_targets(rows: list[dict], main: str) -> list[dict]:
    """Issue 5's ratio targets, on the main-size rows."""
    results = []
    by_name = {(r["workload"], r["image"]): r for r in rows}
    for row in rows:
        if row["section"] == "api" and not row["image"].startswith(main):
            continue
        ours = row["cells"].get("imgfilter", {}).get("median_ms")
        for library, limit in row["targets"].items():
            cell = row["cells"].get(library, {})
            ratio = cell.get("ratio")
            comparable = ratio is not None and cell.get("check") != "mismatch"
            results.append(
                {
                    "workload": row["workload"],
                    "against": library,
                    "limit": limit,
                    "ratio": ratio,
                    "met": bool(comparable and ratio <= limit),
                    "comparable": comparable,
                }
            )
        if row["relative"] and ours:
            name, limit = row["relative"]
            other = by_name.get((name, row["image"]), {})
            base = other.get("cells", {}).get("imgfilter", {}).get("median_ms")
            ratio = round(ours / base, 3) if base else None
            results.append(
                {
                    "workload": row["workload"],
                    "against": f"imgfilter {name}",
                    "limit": limit,
                    "ratio": ratio,
                    "met": bool(ratio and ratio <= limit),
                    "comparable": ratio is not None,
                }
            )
        peak = row["cells"].get("imgfilter", {}).get("peak_mb")
        if peak is not None:
            results.append(
                {
                    "workload": row["workload"],
                    "against": "peak memory (MB)",
                    "limit": row.get("peak_limit", 400),
                    "ratio": peak,
                    "met": peak <= row.get("peak_limit", 400),
                    "comparable": True,
                }
            )
        if row["workload"] == "cli imgfilter --help":
            results.append(
                {
                    "workload": row["workload"],
                    "against": "start-up (ms)",
                    "limit": 150,
                    "ratio": ours,
                    "met": bool(ours and ours <= 150),
                    "comparable": ours is not None,
                }
            )
    return results


def fmt_ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def fmt_cell(entry: dict | None, repeats: int) -> str:
    if entry is None:
        return "—"
    if entry["status"] != "ok":
        return {"missing": "n/a (missing)", "absent": "not installed"}.get(entry["status"], "error")
    text = fmt_ms(entry["median_ms"])
    if 0 < len(entry["runs_ms"]) < repeats:
        text += f" (n={len(entry['runs_ms'])})"
    return text


def fmt_ratio(entry: dict | None) -> str:
    if not entry or entry.get("ratio") is None:
        return ""
    mark = {"mismatch": " !", "approx": " ~"}.get(entry.get("check"), "")
    return f"{entry['ratio']:.2f}×{mark}"


def table(rows: list[dict], section: str, columns: list[str], repeats: int) -> list[str]:
    rows = [r for r in rows if r["section"] == section]
    if not rows:
        return []
    memory = section == "cli"
    head = ["workload", "image", f"imgfilter ({engine_word()}) ms"] + (["MB"] if memory else [])
    for column in columns:
        head += [f"{column} ms", "ratio"] + (["MB"] if memory else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        ours = row["cells"].get("imgfilter")
        cells = [row["workload"], row["image"], fmt_cell(ours, repeats)]
        if memory:
            cells.append(fmt_ms(ours.get("peak_mb")) if ours else "")
        for column in columns:
            entry = row["cells"].get(column)
            cells += [fmt_cell(entry, repeats), fmt_ratio(entry)]
            if memory:
                cells.append(fmt_ms(entry.get("peak_mb")) if entry else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def engine_word() -> str:
    """ "compiled" or "numpy": the engine every imgfilter cell of this run used."""
    from imgfilter import _native

    return _native.engine().split()[0]


def report(rows: list[dict], targets: list[dict], repeats: int) -> str:
    from imgfilter import _native

    memory = "resident" if cli_rows.memory_is_resident() else "cold"
    lines = [f"imgfilter engine: {_native.engine()}; freed memory: {memory}", ""]
    lines += ["## Python API (median ms; ratio = imgfilter / competitor, below 1 is faster)", ""]
    lines += table(rows, "api", API_COLUMNS, repeats)
    cli = [r for r in rows if r["section"] == "cli"]
    if cli:
        columns = CLI_COLUMNS + (
            ["python -c pass"] if any("python -c pass" in r["cells"] for r in cli) else []
        )
        lines += ["", "## Command line, end to end (median ms, peak RSS MB)", ""]
        lines += table(rows, "cli", columns, repeats)
    notes, problems = [], []
    for row in rows:
        for library, entry in row["cells"].items():
            where = f"{row['workload']} {row['image']} / {library}".replace("  ", " ")
            if entry.get("note"):
                notes.append(f"- {where}: {entry['note']}")
            if entry.get("check") in ("mismatch", "approx"):
                (problems if entry["check"] == "mismatch" else notes).append(
                    f"- {where}: {'MISMATCH ' if entry['check'] == 'mismatch' else ''}"
                    f"{entry['check_detail']}"
                )
            if entry["status"] in ("error", "missing"):
                problems.append(f"- {where}: {entry['status']}: {entry['message']}")
    if problems:
        lines += ["", "Warnings (a ratio marked ! compares different results):"] + problems
    if notes:
        lines += ["", "Notes (~: the competitor approximates; its ratio is indicative):"]
        lines += sorted(set(notes), key=notes.index)
    if targets:
        lines += ["", "Targets (issues 5, 12 and 14):"]
        for t in targets:
            state = "met" if t["met"] else ("MISSED" if t["comparable"] else "not measured")
            value = "—" if t["ratio"] is None else f"{t['ratio']:g}"
            lines.append(
                f"- {t['workload']} vs {t['against']}: {value} (limit {t['limit']:g}) {state}"
            )
    return "\n".join(lines)


# --- images and environment -----------------------------------------------------------


def build_images(size: int, small: int) -> dict[str, np.ndarray]:
    """The sample photo upscaled to a square, with mild seeded grain so codecs see texture."""
    images = {}
    with Image.open(PHOTO) as photo:
        photo = photo.convert("RGB")
        for suffix, n in (("", size), ("@small", small), ("@tiny", TINY)):
            smooth = np.asarray(photo.resize((n, n), Image.Resampling.BICUBIC), np.float32)
            grain = np.random.default_rng(0).normal(0.0, 2.0, smooth.shape)
            rgb = np.clip(np.rint(smooth + grain), 0, 255).astype(np.uint8)
            images["rgb" + suffix] = rgb.astype(np.float32)
            images["gray" + suffix] = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)
    return images


def label(image: np.ndarray) -> str:
    kind = "gray" if image.ndim == 2 else "RGB"
    return (
        f"{image.shape[0]}² {kind}"
        if image.shape[0] == image.shape[1]
        else (f"{image.shape[0]}×{image.shape[1]} {kind}")
    )


def label_file(path: Path) -> str:
    if path.is_dir():
        files = sorted(path.iterdir())
        with Image.open(files[0]) as im:
            return f"{len(files)} × {im.width}² {files[0].suffix[1:]}"
    if path.suffix == ".npy":
        width = np.load(path, mmap_mode="r").shape[1]
    elif path.suffix == ".tif":
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            width = tiff.pages.first.imagewidth
    else:
        with Image.open(path) as im:
            width = im.width
    return f"{width}² {path.suffix[1:]}"


def machine(tools: dict) -> dict:
    import scipy

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pillow": Image.__version__,
    }
    for name, module in workloads.LIBRARIES.items():
        if module is not None and name in ("opencv", "skimage"):
            versions[name] = module.__version__
    for tool in ("vips", "imagemagick"):
        versions[tool] = tools[tool][1]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    from imgfilter import _native

    return {
        "engine": _native.engine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096, help="main image side (default 4096)")
    parser.add_argument(
        "--small",
        type=int,
        default=1024,
        help="side of the second, smaller image for a few rows (default 1024)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell (default 5)")
    parser.add_argument(
        "--slow",
        type=float,
        default=10.0,
        help="a warm-up longer than this many seconds counts as a run, and the "
        "cell stops at 3 runs (default 10)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="256² images, one call per cell: a smoke test for CI"
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="write the results here "
        "(default bench/results.json, bench/results-quick.json with --quick)",
    )
    parser.add_argument("--only", help="run only the rows whose name matches this regex")
    parser.add_argument(
        "--pure",
        action="store_true",
        help="run imgfilter on its numpy engine (IMGFILTER_PURE=1), not the compiled kernels",
    )
    parser.add_argument(
        "--no-huge",
        action="store_true",
        help="skip the huge-image rows (30000² .npy, 20000² TIFF: a few minutes)",
    )
    parser.add_argument(
        "--cold-memory",
        action="store_true",
        help="let glibc hand freed memory back to the system between runs (see the docstring)",
    )
    args = parser.parse_args(argv)
    if not args.cold_memory and sys.platform.startswith("linux"):
        keep_memory_resident(argv)
    if args.pure:
        os.environ["IMGFILTER_PURE"] = "1"  # this process and every command it starts
    if args.quick:  # one call per cell: the warm-up is the measurement
        args.size, args.small, args.repeats, args.slow = 256, 128, 1, 0.0
    if args.json is None:
        args.json = BENCH / ("results-quick.json" if args.quick else "results.json")
    wanted = re.compile(args.only or "", re.IGNORECASE)

    started = time.perf_counter()
    load = os.getloadavg()[0]
    if load > 0.5:
        print(
            f"warning: load average {load:.2f} before starting: other work on this machine "
            "will add noise to the timings",
            file=sys.stderr,
        )
    images = build_images(args.size, args.small)
    tools = cli_rows.find_tools()
    rows = []
    api = [w for w in workloads.workloads() if wanted.search(w.name)]
    for suffix in ("", "@small", "@tiny"):
        for work in api:
            if (suffix == "@small" and not work.small) or (suffix == "@tiny" and not work.tiny):
                continue
            rows.append(api_row(work, images, work.image + suffix, args.repeats, args.slow))
            progress(rows[-1])
    huge = [] if args.no_huge else huge_rows.huge_rows()
    extra = huge + batch_rows.batch_rows()
    cli = [r for r in cli_rows.cli_rows() + extra if wanted.search(r.name)]
    if cli or wanted.search("cli imgfilter --help"):
        with tempfile.TemporaryDirectory(prefix="imgfilter-bench-") as tmp:
            work_dir = Path(tmp)
            sources = {"jpg": work_dir / "input.jpg"}
            Image.fromarray(images["rgb"].astype(np.uint8)).save(sources["jpg"], quality=95)
            if any(row.source.endswith("-huge") for row in cli):
                sources.update(huge_rows.build_inputs(PHOTO, work_dir, args.quick))
            if any(row.source == "batch" for row in cli):
                sources.update(batch_rows.build_inputs(PHOTO, work_dir, args.quick))
            if wanted.search("cli imgfilter --help"):
                rows.append(startup_row(tools, args.repeats))
                progress(rows[-1])
            for row in cli:
                source = sources[row.source]
                rows.append(cli_row(row, tools, source, work_dir, args.repeats, args.slow))
                progress(rows[-1])
    targets = evaluate_targets(rows, f"{args.size}²")
    text = report(rows, targets, args.repeats)
    print(text)
    result = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            ["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "size": args.size,
        "small": args.small,
        "repeats": args.repeats,
        "quick": args.quick,
        "load_average_at_start": round(load, 2),
        "machine": machine(tools),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "targets": targets,
        "table": text,
    }
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.json} ({result['seconds']} s)", file=sys.stderr)
    broken = [
        f"{row['workload']} {row['image']}: {cell['status']}"
        for row in rows
        for library, cell in row["cells"].items()
        if library == "imgfilter" and cell["status"] in ("error", "missing")
    ]
    if broken:  # the benchmark must not rot quietly: CI runs it in --quick mode
        print("imgfilter rows that did not run: " + "; ".join(broken), file=sys.stderr)
        return 1
    return 0


def keep_memory_resident(argv: list[str] | None) -> None:
    """Re-start this process with ``cli_rows.RESIDENT_MEMORY`` set, unless it already is."""
    if cli_rows.memory_is_resident():
        return
    resident = cli_rows.RESIDENT_MEMORY
    before = {k: os.environ[k] for k in resident if k in os.environ}
    os.environ[cli_rows.COLD_ENV] = json.dumps(before)
    os.environ.update(resident)
    args = sys.argv[1:] if argv is None else argv
    os.execv(sys.executable, [sys.executable, str(Path(__file__).resolve()), *args])


def progress(row: dict) -> None:
    parts = [f"{lib} {fmt_ms(c['median_ms']) or c['status']}" for lib, c in row["cells"].items()]
    print(f"  {row['workload']} {row['image']}: " + ", ".join(parts), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
