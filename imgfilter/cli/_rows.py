"""Chains that never hold a float32 copy of the image.

A .npy or a huge TIFF in, a .npy or TIFF out: the chain strip by strip, the files read
and written by rows (tiles decoded as the strips reach them), memory a few strips
however large the image. An 8- or 16-bit image in and an 8/16-bit file out: the decoded
pixels are converted to float32 a strip at a time, and each finished strip is mapped
and quantised into the result. A final min-max ``rescale`` runs in two passes over the
strips (the extremes, then the mapping). Both need every other step to run in strips
and a mapping that works pixel by pixel (``none``, ``clip``, ``abs``); anything else
(a step that needs the whole image, alpha, feature maps into 8-bit files) goes the
usual way.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

EIGHT_BIT_STRIP_BYTES = 4 << 20
"""Strips of the 8/16-bit file path: smaller than the library's, for a lower peak."""
_ROW_SOURCES = (".npy", ".tif", ".tiff")
_PIXELWISE = ("none", "clip", "abs")


def handles(pipeline, source, target, fmt: str, mapping: str) -> bool:
    """True when this ``source`` -> ``target`` job may run by rows (:func:`run` decides)."""
    if fmt not in ("NPY", "TIFF") or mapping not in _PIXELWISE:
        return False
    if not isinstance(source, Path) or not isinstance(target, Path):
        return False
    if source.suffix.lower() not in _ROW_SOURCES:
        return False
    if target.exists() and not target.is_file():
        return False  # devices and FIFOs are written whole
    return _in_strips(pipeline)


def run(pipeline, source: Path, target: Path, fmt: str, mapping: str, **job) -> bool:
    """Filter ``source`` into ``target`` by rows; False if the file turns out unfit (alpha,
    a small or unusual TIFF, colour into a float TIFF), for the usual path.

    ``job`` holds the command's ``depth`` and ``strip`` (no metadata) choices, and
    ``cluster``: a Dask client whose workers compute the bands, or None for this process.
    """
    from imgfilter import formats
    from imgfilter.params import UNIT_SCALE

    rows = _open_rows(source)
    if rows is None:
        return False
    try:
        if len(rows.shape) == 3 and rows.shape[2] in (2, 4):
            return False  # alpha: set aside and put back the usual way
        shape = pipeline.check_shape(rows.shape)
        if len(shape) == 3 and shape[2] == 1:
            shape = shape[:2]  # one feature map is a gray image, as on the usual path
        if fmt == "NPY":
            depth = 32
        else:
            channels = 1 if len(shape) == 2 else shape[2]
            if channels not in (1, 3) or (mapping == "none" and channels != 1):
                return False  # the usual path explains what a TIFF cannot hold
            bits = getattr(rows, "bit_depth", None)
            source_bits = bits if bits in (8, 16) else None
            depth = (
                32
                if mapping == "none"
                else formats.output_depth(
                    fmt, job.get("depth", "auto"), source_bits, mapping, channels
                )
            )
        _write(pipeline, rows, target, fmt, mapping, depth, shape, job)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if rows.on_unit_scale:
        warnings.warn(UNIT_SCALE, UserWarning, stacklevel=2)
    return True


def streams(source) -> bool:
    """True when ``source`` is a file the row path reads (a C-order .npy, a huge TIFF)."""
    if not isinstance(source, Path) or source.suffix.lower() not in _ROW_SOURCES:
        return False
    try:
        rows = _open_rows(source)
    except ValueError:
        return False  # the usual path reports what is wrong with it
    if rows is None:
        return False
    close = getattr(rows, "close", None)
    if close is not None:
        close()
    return True


def _open_rows(source: Path):
    """A row reader for ``source``: a C-order .npy; a TIFF from ``STREAM_MIN_PIXELS`` on."""
    if source.suffix.lower() == ".npy":
        from imgfilter.io._npy_rows import RowReader

        return RowReader.open(source)
    from imgfilter.io._tiff_rows import STREAM_MIN_PIXELS, TiffRows

    rows = TiffRows.open(source)
    if rows is not None and rows.shape[0] * rows.shape[1] < STREAM_MIN_PIXELS:
        rows.close()  # small enough to read whole, with all its metadata
        return None
    return rows


def _write(pipeline, rows, target: Path, fmt: str, mapping: str, depth: int, shape, job):
    import numpy as np

    from imgfilter.io._npy_rows import write_rows
    from imgfilter.io._tiff_rows import write_tiff_rows

    cluster = job.get("cluster")

    def fill(put_rows) -> None:
        if cluster is None:
            stream(pipeline, rows, mapping, depth, put_rows)
        else:
            from imgfilter.cli import _cluster_rows

            _cluster_rows.stream(cluster, pipeline, rows, mapping, depth, put_rows)

    if fmt == "NPY":
        write_rows(os.fspath(target), shape, fill)
        return
    dtype = {8: np.uint8, 16: np.uint16, 32: np.float32}[depth]
    dpi, icc = (None, None) if job.get("strip") else _tiff_metadata(rows)
    write_tiff_rows(os.fspath(target), shape, dtype, fill, dpi=dpi, icc_profile=icc)


def _tiff_metadata(rows):
    """The resolution (dots per inch) and ICC profile of a TIFF reader's page, if any."""
    page = getattr(rows, "_page", None)
    if page is None:
        return None, None
    tags = page.tags
    icc = tags.get(34675)
    dpi = None
    if 282 in tags and 283 in tags:
        unit = tags.get(296)
        per_inch = 2.54 if unit is not None and unit.value == 3 else 1.0
        x, y = (tags[t].value for t in (282, 283))
        if x[1] and y[1]:
            dpi = (x[0] / x[1] * per_inch, y[0] / y[1] * per_inch)
    return dpi, None if icc is None else bytes(icc.value)


def _in_strips(pipeline) -> bool:
    from imgfilter import tiles

    steps, _ = pipeline.split_final_minmax()
    return bool(steps) and not any(whole for _, whole in tiles.segments(steps))


def stream(pipeline, source, mapping: str, depth: int, put_rows=None, *, into=None) -> None:
    """Run ``pipeline`` on ``source`` strip by strip; ``put_rows(first_row, rows)`` gets
    each finished strip mapped by ``mapping`` and, for ``depth`` 8 or 16, quantised
    (float32 for 32), or the strips are quantised straight into the rows of ``into``
    (an array of the result's shape). A final min-max ``rescale`` takes a first pass
    for the extremes.
    """
    from imgfilter import tiles
    from imgfilter.image import stretch
    from imgfilter.io._save import finished_strip
    from imgfilter.params import inside_library

    steps, final = pipeline.split_final_minmax()
    shape = pipeline.check_shape(source.shape)
    with inside_library():
        if final is not None:
            low, high = _extremes(steps, source, final.params["per_channel"])

        def sink(first: int, block) -> None:
            block = block.reshape((block.shape[0],) + tuple(shape[1:]))
            if final is not None:
                block = stretch(block, low, high)
            if into is None:
                put_rows(first, finished_strip(block, mapping, depth))
            else:
                finished_strip(block, mapping, depth, into[first : first + len(block)])

        tiles.run_steps(steps, source, None, strip_bytes=EIGHT_BIT_STRIP_BYTES, sink=sink)


def integer_strips(pipeline, image, fmt: str, mapping: str, depth, meta) -> int | None:
    """The depth (8 or 16) an 8- or 16-bit ``image`` goes to an ``fmt`` file with, strip
    by strip; None when it must go the usual way."""
    import numpy as np

    from imgfilter import formats

    channels = 1 if image.ndim == 2 else image.shape[2]
    if image.dtype not in (np.uint8, np.uint16) or channels not in (1, 3):
        return None
    if mapping not in ("clip", "abs") or pipeline.makes_maps:
        return None
    if fmt == "NPY" or fmt in formats.TEXT_FORMATS or not _in_strips(pipeline):
        return None
    return formats.output_depth(fmt, depth, meta.bit_depth, mapping, channels)


def to_integer(pipeline, image, mapping: str, depth: int, fmt: str):
    """``pipeline`` on 8- or 16-bit ``image``, mapped and quantised strip by strip into
    uint8 (``depth`` 8) or uint16 (16), ready to be written as an ``fmt`` file as it is.
    """
    import numpy as np

    from imgfilter.image import Scaled16
    from imgfilter.io._save import Quantised, pixel_buffer

    source = Scaled16(image) if image.dtype == np.uint16 else image
    shape = pipeline.check_shape(image.shape)
    out = pixel_buffer(shape, fmt) if depth == 8 else np.empty(shape, dtype=np.uint16)
    stream(pipeline, source, mapping, depth, into=out)
    return out if depth == 8 else out.view(Quantised)


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
