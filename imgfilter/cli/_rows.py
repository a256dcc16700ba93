"""A .npy in, a .npy out: the whole chain strip by strip, the file read and written by rows.

Memory is a few strips, however large the array, when every step runs in strips and the
saved mapping works pixel by pixel (``none``, ``clip``, ``abs``). Anything else (a step
that needs the whole image, alpha, a min-max mapping) goes the usual way.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def handles(pipeline, source, target, fmt: str, mapping: str) -> bool:
    """True when this ``source`` -> ``target`` job can run by rows."""
    if fmt != "NPY" or mapping not in ("none", "clip", "abs") or not isinstance(source, Path):
        return False
    if source.suffix.lower() != ".npy" or not isinstance(target, Path):
        return False
    if target.exists() and not target.is_file():
        return False  # devices and FIFOs are written whole
    from imgfilter import tiles

    return not any(whole for _, whole in tiles.segments(pipeline.steps))


def run(pipeline, source: Path, target: Path, mapping: str, alpha: str) -> bool:
    """Filter ``source`` into ``target`` by rows; False if the file turns out unfit (alpha)."""
    from imgfilter import tiles
    from imgfilter.image import rescale
    from imgfilter.io._npy_rows import RowReader, write_rows
    from imgfilter.params import UNIT_SCALE, inside_library

    rows = RowReader(source)
    if len(rows.shape) == 3 and rows.shape[2] in (2, 4):
        return False  # alpha: set aside and put back the usual way
    shape = pipeline.check_shape(rows.shape)
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # one feature map is a gray image, as on the usual path

    def fill(put_rows) -> None:
        def sink(first: int, block) -> None:
            block = block.reshape((block.shape[0],) + shape[1:])
            put_rows(first, block if mapping == "none" else rescale(block, mapping))

        with inside_library():
            tiles.run_steps(pipeline.steps, rows, None, alpha, sink=sink)

    write_rows(os.fspath(target), shape, fill)
    if rows.on_unit_scale:
        warnings.warn(UNIT_SCALE, UserWarning, stacklevel=2)
    return True
