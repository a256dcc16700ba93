"""Issue 12's huge-image rows: images larger than the pixel limit, filtered by rows.

A 30000² gray float32 ``.npy`` (3.6 GB) and a 20000² RGB tiled TIFF (1.2 GB), each
through the command line, against libvips where it reads the same file. The inputs
are built once per run, band by band, so building them costs little memory too; with
``--quick`` they are 600² and 500², which runs the same code in a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_rows import PIPELINE, CliRow, Command, vips_target
from PIL import Image

PEAK_LIMIT_MB = 1024
BAND_ROWS = 512


def build_inputs(photo: Path, work: Path, quick: bool) -> dict[str, Path]:
    """The huge .npy and tiled TIFF, tiled from ``photo`` (which repeats)."""
    import tifffile

    with Image.open(photo) as picture:
        rgb = np.asarray(picture.convert("RGB").resize((512, 512)))
    gray = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)
    npy_side, tif_side = (600, 500) if quick else (30000, 20000)

    npy = work / "huge-gray.npy"
    array = np.lib.format.open_memmap(npy, "w+", np.float32, (npy_side, npy_side))
    for y in range(0, npy_side, BAND_ROWS):
        rows = np.arange(y, min(npy_side, y + BAND_ROWS)) % 512
        array[y : y + len(rows)] = gray[rows][:, np.arange(npy_side) % 512]
    array.flush()
    del array

    tile = 256

    def tiles():
        for y in range(0, tif_side, tile):
            for x in range(0, tif_side, tile):
                rows = (np.arange(y, y + tile) % 512)[:, None]
                cols = (np.arange(x, x + tile) % 512)[None, :]
                yield rgb[rows, cols]

    tif = work / "huge-rgb.tif"
    tifffile.imwrite(
        tif,
        tiles(),
        shape=(tif_side, tif_side, 3),
        dtype=np.uint8,
        tile=(tile, tile),
        photometric="rgb",
    )
    return {"npy-huge": npy, "tif-huge": tif}


def _run(*chain: str):
    def argv(prefix, inp, out, work):
        return [*prefix, "run", " | ".join(chain), str(inp), "-o", str(out)]

    return argv


def huge_rows() -> list[CliRow]:
    return [
        CliRow(
            "cli huge pipeline npy→npy",
            "npy",
            [Command("imgfilter", _run(PIPELINE), note="min-max in two passes over the rows")],
            source="npy-huge",
            peak_limit=PEAK_LIMIT_MB,
        ),
        CliRow(
            "cli huge gaussian σ=2 tif→tif",
            "tif",
            [
                Command("imgfilter", _run("gaussian sigma=2")),
                Command(
                    "vips",
                    lambda p, i, o, w: [*p, "gaussblur", str(i), vips_target(o), "2"],
                    note="vips streams too; integer precision, its own kernel radius",
                ),
            ],
            source="tif-huge",
            peak_limit=PEAK_LIMIT_MB,
        ),
        CliRow(
            "cli huge pipeline tif→tif",
            "tif",
            [Command("imgfilter", _run(PIPELINE))],
            source="tif-huge",
            peak_limit=PEAK_LIMIT_MB,
        ),
    ]
