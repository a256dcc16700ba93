"""Chains that never hold a float32 copy of the image.

A .npy in and a .npy out: the chain strip by strip, the files read and written by rows,
memory a few strips however large the array. An 8-bit image in and an 8-bit file out:
the decoded pixels are converted to float32 a strip at a time, and each finished strip
is mapped and quantised into the 8-bit result (a final min-max in two passes over the
strips). Both need every step to run in strips and a mapping that works pixel by pixel
(``none``, ``clip``, ``abs``); anything else (another step that needs the whole image,
alpha, feature maps into 8-bit files) goes the usual way.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

EIGHT_BIT_STRIP_BYTES = 4 << 20
"""Strips of the 8/16-bit file path: smaller than the library's, for a lower peak."""


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


def integer_strips(pipeline, image, fmt: str, mapping: str, depth, meta) -> int | None:
    """The depth (8 or 16) an 8- or 16-bit ``image`` goes to an ``fmt`` file with, strip
    by strip; None when it must go the usual way."""
    import numpy as np

    from imgfilter import formats, tiles

    steps, final = _split_final_minmax(pipeline)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if image.dtype not in (np.uint8, np.uint16) or not steps or channels not in (1, 3):
        return None
    if mapping not in ("clip", "abs") or pipeline.makes_maps:
        return None
    if fmt == "NPY" or fmt in formats.TEXT_FORMATS:
        return None
    if any(whole for _, whole in tiles.segments(steps)):
        return None
    return formats.output_depth(fmt, depth, meta.bit_depth, mapping, channels)


def to_integer(pipeline, image, mapping: str, depth: int):
    """``pipeline`` on 8- or 16-bit ``image``, mapped and quantised strip by strip into
    uint8 (``depth`` 8) or uint16 (16), ready to be written as it is.

    A final min-max ``rescale`` takes two passes over the strips: the minimum and the
    maximum first, then the mapping, so it never needs the whole image as float32.
    """
    import numpy as np

    from imgfilter import tiles
    from imgfilter.image import Scaled16, rescale, stretch
    from imgfilter.io._save import Quantised, quantise
    from imgfilter.params import inside_library

    source = Scaled16(image) if image.dtype == np.uint16 else image
    steps, final = _split_final_minmax(pipeline)
    stored = np.uint8 if depth == 8 else np.uint16
    out = np.empty(pipeline.check_shape(image.shape), dtype=stored)
    with inside_library():
        if final is not None:
            low, high = _extremes(steps, source, final.params["per_channel"])

        def sink(first: int, block) -> None:
            if final is not None:
                block = stretch(block, low, high)
            mapped = block if mapping == "clip" else rescale(block, mapping)
            out[first : first + len(block)] = quantise(mapped, depth)

        tiles.run_steps(steps, source, None, strip_bytes=EIGHT_BIT_STRIP_BYTES, sink=sink)
    return out if depth == 8 else out.view(Quantised)


def _split_final_minmax(pipeline):
    """(the steps before a final min-max ``rescale``, that step) or (all steps, None)."""
    last = pipeline.steps[-1]
    if last.op.name == "rescale" and last.params["mode"] == "minmax":
        return pipeline.steps[:-1], last
    return pipeline.steps, None


def _extremes(steps, image, per_channel: bool):
    """The first pass of a strip-wise min-max: the minimum and maximum of the result."""
    import threading

    import numpy as np

    from imgfilter import tiles

    lock, found = threading.Lock(), []

    def sink(first: int, block) -> None:
        axes = (0, 1) if per_channel and block.ndim == 3 else None
        pair = (
            np.nanmin(block, axis=axes, keepdims=True),
            np.nanmax(block, axis=axes, keepdims=True),
        )
        with lock:
            found.append(pair)

    tiles.run_steps(steps, image, None, strip_bytes=EIGHT_BIT_STRIP_BYTES, sink=sink)
    lows, highs = zip(*found, strict=True)
    return np.minimum.reduce(lows), np.maximum.reduce(highs)
