"""Issue 14's batch row: 2000 small JPEGs through imgfilter's batch against a vips loop.

Both write every file into a folder; the per-file cost of start-up and of each call is
what this row measures (``--quick``: 20 files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_rows import CliRow, Command
from PIL import Image

SIDE = 64


def build_inputs(photo: Path, work: Path, quick: bool) -> dict[str, Path]:
    """A folder of small JPEGs cut from ``photo``."""
    count = 20 if quick else 2000
    folder = work / "batch"
    folder.mkdir(exist_ok=True)
    with Image.open(photo) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    rng = np.random.default_rng(0)
    for index in range(count):
        y = int(rng.integers(0, rgb.shape[0] - SIDE))
        x = int(rng.integers(0, rgb.shape[1] - SIDE))
        Image.fromarray(rgb[y : y + SIDE, x : x + SIDE]).save(folder / f"{index:04d}.jpg")
    return {"batch": folder}


def _imgfilter(prefix, inp, out, work):
    return [*prefix, "gaussian", str(inp), "-o", f"{out}/", "--sigma", "2", "--quiet"]


def _vips_loop(prefix, inp, out, work):
    vips = prefix[0]
    script = (
        f'mkdir -p "{out}" && for f in "{inp}"/*.jpg; do '
        f'"{vips}" gaussblur "$f" "{out}/$(basename "$f")" 2 || exit 1; done'
    )
    return ["sh", "-c", script]


def batch_rows() -> list[CliRow]:
    return [
        CliRow(
            f"cli batch of {SIDE}² JPEGs, gaussian σ=2",
            "dir",
            [
                Command("imgfilter", _imgfilter, note="one process, --jobs = cores"),
                Command("vips", _vips_loop, note="a shell loop: one vips process per file"),
            ],
            source="batch",
        )
    ]
