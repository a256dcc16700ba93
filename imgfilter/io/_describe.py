"""``imgfilter info``: size, mode, bit depth and per-channel statistics in bounded memory.

Statistics are gathered in pieces (bands of rows of a decoded image, runs of a .npy
file's data read straight from the file, bands of a huge TIFF's tiles), with float64
sums, so describing costs the decoded image at most, and a .npy or a huge TIFF of any
size a few megabytes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from imgfilter.io import _contain, _npy, _read, _tiff_rows

NAMES = {1: ["L"], 2: ["L", "A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}
BAND = 1 << 20  # values per band of a decoded image
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """Describe an image file for ``imgfilter info``.

    Returns
    -------
    dict
        ``path``, ``format`` (e.g. "PNG", "NPY"), ``width``, ``height``, ``channels``,
        ``mode`` (Pillow's mode of the file, or the dtype of a .npy), ``bit_depth``
        (per sample, in the file), ``channel_names`` (e.g. ["R", "G", "B", "A"]) and
        per-channel ``min``, ``max``, ``mean`` of the loaded values (0-255 scale; NaN
        is left out, and a channel of NaN only gives NaN).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.png")
    >>> with open(path, "wb") as file:
    ...     _ = file.write(b"P2 2 1 255 0 255")
    >>> info = describe(path)
    >>> info["width"], info["height"], info["mode"], info["bit_depth"], info["mean"]
    (2, 1, 'L', 8, [127.5])
    """
    path = os.fspath(path)
    with _contain.decoding(path) as notes, _read.open_image_file(path) as (file, size):
        if _read.peek(file, len(_npy.MAGIC)) == _npy.MAGIC:
            header = _read.npy_header(file, size, path, notes)
            shape, meta = header.shape, _read.npy_meta(header)
            stats = _npy_stats(file, header)
        else:
            rows = _huge_tiff(file, path)
            if rows is not None:
                shape, meta, stats = rows.shape, _tiff_meta(rows), _row_stats(rows)
            else:
                pixels, meta = _read.decode(file, size, path, notes)
                shape, stats = pixels.shape, _image_stats(pixels)
    _contain.emit(notes)
    channels = shape[2] if len(shape) == 3 else 1
    return {
        "path": path,
        "format": meta["format"],
        "width": shape[1],
        "height": shape[0],
        "channels": channels,
        "mode": meta["mode"],
        "bit_depth": meta["bit_depth"],
        "channel_names": NAMES[channels],
        **stats.result(),
    }


class Stats:
    """Per-channel min, max and mean of values given piece by piece, NaN left out.

    >>> stats = Stats(2)
    >>> stats.add(np.array([[1.0, 10.0], [3.0, np.nan]], np.float32))
    >>> stats.add(np.array([[2.0, 30.0]], np.float32))
    >>> stats.result()
    {'min': [1.0, 10.0], 'max': [3.0, 30.0], 'mean': [2.0, 20.0]}
    """

    def __init__(self, channels: int):
        self.low = np.full(channels, np.nan)
        self.high = np.full(channels, np.nan)
        self.total = np.zeros(channels)
        self.count = np.zeros(channels, np.int64)

    def add(self, values: np.ndarray, first: int = 0) -> None:
        """Add ``values`` of shape (n, k): k channels from ``first`` on."""
        rows = np.ascontiguousarray(values.T)  # one contiguous row per channel: fast reductions
        with np.errstate(all="ignore"):  # inf - inf is NaN, as it should be; no warning
            for channel, row in enumerate(rows, start=first):
                self._add(channel, row)

    def _add(self, channel: int, row: np.ndarray) -> None:
        low = row.min()
        if np.isnan(low):  # the slower NaN-aware path, only for pieces holding NaN
            low, high = np.fmin.reduce(row), np.fmax.reduce(row)
            total = np.nansum(row, dtype=np.float64)
            count = len(row) - np.count_nonzero(np.isnan(row))
        else:
            high, total, count = row.max(), row.sum(dtype=np.float64), len(row)
        self.low[channel] = np.fmin(self.low[channel], low)
        self.high[channel] = np.fmax(self.high[channel], high)
        self.total[channel] += total
        self.count[channel] += count

    def result(self) -> dict[str, list[float]]:
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: a channel of NaN only
            mean = np.where(self.count > 0, self.total / np.maximum(self.count, 1), np.nan)
        return {
            "min": [float(v) for v in self.low],
            "max": [float(v) for v in self.high],
            "mean": [float(v) for v in mean],
        }


def _image_stats(pixels: np.ndarray) -> Stats:
    planes = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    stats = Stats(planes.shape[2])
    rows = max(1, BAND // (planes.shape[1] * planes.shape[2]))
    for start in range(0, planes.shape[0], rows):
        stats.add(planes[start : start + rows].reshape(-1, planes.shape[2]))
    return stats


def _huge_tiff(file, path: str):
    """A row reader for a TIFF from ``STREAM_MIN_PIXELS`` on (described by rows), or None."""
    if _read.peek(file, 4) not in _TIFF_MAGIC:
        return None
    rows = _tiff_rows.TiffRows.open(path)
    if rows is not None and rows.shape[0] * rows.shape[1] < _tiff_rows.STREAM_MIN_PIXELS:
        rows.close()
        return None
    return rows


def _tiff_meta(rows) -> dict[str, Any]:
    mode = {8: "RGB" if rows.ndim == 3 else "L", 16: "I;16", 32: "F"}[rows.bit_depth]
    return {"format": "TIFF", "mode": mode, "bit_depth": rows.bit_depth}


def _row_stats(rows) -> Stats:
    channels = rows.shape[2] if rows.ndim == 3 else 1
    stats = Stats(channels)
    band = max(rows.band_rows, BAND // (rows.shape[1] * channels))
    try:
        for start in range(0, rows.shape[0], band):
            stats.add(rows[start : start + band].reshape(-1, channels))
    finally:
        rows.close()
    return stats


def _npy_stats(file, header: _npy.Header) -> Stats:
    channels = header.channels
    stats = Stats(channels)
    plane = header.shape[0] * header.shape[1]
    for start, values in _npy.pieces(file, header):
        if header.fortran:
            stats.add(values[:, None], first=start // plane)
        else:
            stats.add(values.reshape(-1, channels))
    return stats
