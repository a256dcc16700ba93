"""Issue 5's command-line rows: imgfilter end to end against libvips and ImageMagick.

Each row runs one command per tool on the same JPEG and writes a JPEG (quality
85, 4:2:0 chroma, everyone's default at that quality) or a PNG (each tool's
default compression). Wall time and peak memory are those of the process tree,
start-up and codecs included.
"""

from __future__ import annotations

import compileall
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from checks import EdgeF1, Pixels

REPO = Path(__file__).resolve().parent.parent
QUALITY = 85
EMBOSS_TEXT = "-2,-1,0 -1,1,1 0,1,2"
TIME = Path("/usr/bin/time").exists()
PIPELINE = "gaussian sigma=1.4 | sobel | rescale mode=minmax"

Argv = Callable[[list[str], Path, Path, Path], list[str]]


@dataclass
class Command:
    """One tool's command line: ``argv(tool_prefix, input, output, workdir)``."""

    tool: str
    argv: Argv
    check: Callable | None = None
    note: str = ""


@dataclass
class CliRow:
    name: str
    fmt: str
    commands: list[Command]
    targets: dict[str, float] = field(default_factory=dict)
    source: str = "jpg"  # which input: the 4096² JPEG, or a huge .npy or TIFF
    peak_limit: float = 400  # MB, issue 12's targets for imgfilter's peak RSS


@dataclass
class Run:
    seconds: float
    peak_mb: float
    returncode: int
    stderr: str


def run_command(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time and peak RSS (largest single process in the tree) of one command.

    The peak comes from GNU time, which forks the command itself: a child forked
    straight from this (large) Python process would report our RSS, not its own.
    Without /usr/bin/time the peak is NaN. The command gets the environment the
    benchmark was started with (``run.py`` keeps freed memory in its own process only).
    """
    env = cold_environment(os.environ if env is None else env)
    with tempfile.TemporaryDirectory() as tmp:
        err, peak_file = Path(tmp) / "stderr", Path(tmp) / "peak"
        wrapper = ["/usr/bin/time", "-f", "%M", "-o", str(peak_file)] if TIME else []
        with err.open("wb") as sink:
            start = time.perf_counter()
            proc = subprocess.run(
                [*wrapper, *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env=env,
            )
            seconds = time.perf_counter() - start
        lines = peak_file.read_text().split() if TIME and peak_file.exists() else []
        peak_mb = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
        message = err.read_text(errors="replace").strip()
    return Run(seconds, peak_mb, proc.returncode, message)


RESIDENT_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}
"""glibc settings that keep freed memory mapped in the process: ``run.py`` sets them
for itself (see its docstring)."""
COLD_ENV = "IMGFILTER_BENCH_COLD_ENV"
"""Where ``run.py`` keeps those variables' values from before it set them (JSON)."""


def memory_is_resident() -> bool:
    """True when this process runs with :data:`RESIDENT_MEMORY` set."""
    return all(os.environ.get(k) == v for k, v in RESIDENT_MEMORY.items())


def cold_environment(env) -> dict[str, str]:
    """``env`` with the glibc settings ``run.py`` set for itself put back as they were."""
    env = dict(env)
    saved = env.pop(COLD_ENV, None)
    if saved is not None:
        for key in RESIDENT_MEMORY:
            env.pop(key, None)
        env.update(json.loads(saved))
    return env


def imgfilter_env() -> dict[str, str]:
    """Run the checkout's imgfilter, whether or not it is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def find_tools() -> dict[str, tuple[list[str] | None, str]]:
    """Each tool's command prefix (None when absent) and its version or why it is absent.

    The checkout's modules are byte-compiled first, as ``pip install`` does: with
    ``PYTHONDONTWRITEBYTECODE`` set (as on this machine) every run would compile them
    again, 60 ms that no installed copy pays.
    """
    compileall.compile_dir(REPO / "imgfilter", quiet=1)
    tools: dict[str, tuple[list[str] | None, str]] = {}
    probe = run_command([sys.executable, "-m", "imgfilter", "--help"], imgfilter_env())
    tools["imgfilter"] = (
        ([sys.executable, "-m", "imgfilter"], "checkout")
        if probe.returncode == 0
        else (None, "n/a (missing): " + (probe.stderr.splitlines() or ["no CLI"])[-1])
    )
    vips = shutil.which("vips")
    tools["vips"] = (None, "not installed (apt-get install libvips-tools)")
    if vips:
        tools["vips"] = ([vips], _version([vips, "--version"]))
    tools["imagemagick"] = (None, "not installed (apt-get install imagemagick)")
    # A `convert` early on PATH may be something else: accept only a real ImageMagick.
    candidates = [shutil.which("magick"), "/usr/bin/convert", shutil.which("convert")]
    for path in filter(None, candidates):
        version = _version([path, "-version"])
        if Path(path).exists() and version.startswith("Version: ImageMagick"):
            tools["imagemagick"] = ([path], version.split(" https")[0])
            break
    return tools


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    return (out.stdout or out.stderr).splitlines()[0].strip() if out.stdout or out.stderr else ""


def quality(tool: str, out: Path) -> list[str]:
    """JPEG quality options for imgfilter and ImageMagick (PNG: each tool's default)."""
    if out.suffix != ".jpg":
        return []
    return ["--quality" if tool == "imgfilter" else "-quality", str(QUALITY)]


def vips_target(out: Path) -> str:
    return f"{out}[Q={QUALITY}]" if out.suffix == ".jpg" else str(out)


def imgfilter_op(*args: str) -> Argv:
    def argv(prefix: list[str], inp: Path, out: Path, work: Path) -> list[str]:
        op, options = args[0], list(args[1:])
        return [*prefix, op, str(inp), "-o", str(out), *options, *quality("imgfilter", out)]

    return argv


def magick(*ops: str) -> Argv:
    return lambda prefix, inp, out, work: [
        *prefix,
        str(inp),
        *ops,
        *quality("imagemagick", out),
        str(out),
    ]


def vips(op: str, *args: str) -> Argv:
    return lambda prefix, inp, out, work: [*prefix, op, str(inp), vips_target(out), *args]


def vips_conv(prefix: list[str], inp: Path, out: Path, work: Path) -> list[str]:
    mat = work / "emboss.mat"
    mat.write_text("3 3 1 0\n-2 -1 0\n-1 1 1\n0 1 2\n")
    return [*prefix, "conv", str(inp), vips_target(out), str(mat)]


def vips_pipeline(prefix: list[str], inp: Path, out: Path, work: Path) -> list[str]:
    """gaussian -> Sobel x and y in float -> |x + iy| -> min-max to 0-255, via .v files."""
    (work / "sx.mat").write_text("3 3 1 0\n-1 0 1\n-2 0 2\n-1 0 1\n")
    (work / "sy.mat").write_text("3 3 1 0\n1 2 1\n0 0 0\n-1 -2 -1\n")
    v, w = shlex.quote(prefix[0]), shlex.quote(str(work))
    script = " && ".join(
        [
            f"{v} gaussblur {shlex.quote(str(inp))} {w}/g.v 1.4 --min-ampl 0.001 --precision float",
            f"{v} conv {w}/g.v {w}/x.v {w}/sx.mat",
            f"{v} conv {w}/g.v {w}/y.v {w}/sy.mat",
            f"{v} complexform {w}/x.v {w}/y.v {w}/c.v",
            f"{v} abs {w}/c.v {w}/m.v",
            f"{v} scale {w}/m.v {shlex.quote(vips_target(out))}",
        ]
    )
    return ["sh", "-c", script]


IM_SOBEL = [
    "-blur",
    "6x1.4",
    "-define",
    "convolve:scale=0.125",
    *[
        part
        for angle in (0, 180, 90, 270)
        for part in ("(", "-clone", "0", "-morphology", "Correlate", f"Sobel:{angle}", ")")
    ],
    "-delete",
    "0",
    "-evaluate",
    "pow",
    "2",
    "-evaluate-sequence",
    "add",
    "-evaluate",
    "pow",
    "0.5",
    "-auto-level",
]


def cli_rows() -> list[CliRow]:
    # JPEG encoders differ by about a level on average (ImageMagick's most), hence the wider
    # tolerance; the PNG rows hold the strict check.
    jpg, png = {"levels": 8, "share": 0.99}, {"levels": 2, "share": 0.999}
    rows = []
    for fmt in ("jpg", "png"):
        tolerance = jpg if fmt == "jpg" else png
        same = Pixels(**tolerance)
        vips_target = {"vips": 2.0} if fmt == "jpg" else {}
        rows += [
            CliRow(
                f"cli gaussian σ=2 jpg→{fmt}",
                fmt,
                [
                    Command("imgfilter", imgfilter_op("gaussian", "--sigma", "2")),
                    Command(
                        "vips",
                        vips("gaussblur", "2", "--min-ampl", "0.001"),
                        same,
                        "min-ampl 0.001 (radius 7, vs 8 for truncate 4); integer precision",
                    ),
                    Command("imagemagick", magick("-blur", "8x2"), same),
                ],
                {**vips_target, "imagemagick": 1},
                peak_limit=200,
            ),
            CliRow(
                f"cli 3×3 kernel jpg→{fmt}",
                fmt,
                [
                    Command("imgfilter", imgfilter_op("convolve", "--kernel", "emboss")),
                    Command("vips", vips_conv, same),
                    Command(
                        "imagemagick",
                        magick("-morphology", "Correlate", f"3x3: {EMBOSS_TEXT}"),
                        same,
                    ),
                ],
                {**vips_target, "imagemagick": 1},
                peak_limit=200,
            ),
            CliRow(
                f"cli median 3×3 jpg→{fmt}",
                fmt,
                [
                    Command(
                        "imgfilter", imgfilter_op("denoise", "--method", "median", "--size", "3")
                    ),
                    Command("vips", vips("rank", "3", "3", "4"), same),
                    Command("imagemagick", magick("-statistic", "Median", "3x3"), same),
                ],
                {**vips_target, "imagemagick": 1},
            ),
            CliRow(
                f"cli pipeline jpg→{fmt}",
                fmt,
                [
                    Command(
                        "imgfilter",
                        lambda p, i, o, w: [
                            *p,
                            "run",
                            PIPELINE,
                            str(i),
                            "-o",
                            str(o),
                            *quality("imgfilter", o),
                        ],
                    ),
                    Command(
                        "vips",
                        vips_pipeline,
                        Pixels(**tolerance, fit=True),
                        "6 vips commands through .v files",
                    ),
                    Command(
                        "imagemagick",
                        magick(*IM_SOBEL),
                        Pixels(fit=True, approx=True),
                        "16-bit integer: 4 clamped Sobel passes, pow, auto-level",
                    ),
                ],
                {"imagemagick": 1},
                peak_limit=260,
            ),
        ]
    rows.append(
        CliRow(
            "cli canny jpg→png",
            "png",
            [
                Command(
                    "imgfilter",
                    imgfilter_op("canny", "--sigma", "1.4", "--low", "30", "--high", "90"),
                ),
                Command(
                    "imagemagick",
                    magick("-colorspace", "Gray", "-canny", "0x1.4+10%+30%"),
                    EdgeF1(approx=True),
                    "thresholds are percentages; edge maps differ",
                ),
            ],
            {"imagemagick": 1},
        )
    )
    return rows
