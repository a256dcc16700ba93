"""The compiled median and bilateral kernels behind :mod:`imgfilter.ops.denoise`.

Each function returns None when the kernel is not there (not built, or
``IMGFILTER_PURE=1``) or does not cover the input, and the caller runs its numpy
code, the reference: the kernels give the same result bit for bit (the bilateral's
weights use numpy's own float32 exp, transcribed, where numpy has it).

>>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
>>> result = median(image, 3, "reflect")
>>> result is None or result.tolist() == [[4, 4, 5, 6], [5, 5, 6, 6], [5, 6, 7, 7]]
True
"""

from __future__ import annotations

import numpy as np

from imgfilter import _native, engine
from imgfilter.ops._median_network import slot_program

# Output rows per band of the median: about this many bytes of output each.
MEDIAN_BAND_BYTES = 1 << 19
# Output bytes per band of the bilateral filter (its padded planes about as many).
BILATERAL_BAND_BYTES = 1 << 19


def _read_padded(image: np.ndarray, radius: int, border: str):
    """``image`` as a C-order array and the tables of where each row and column padded
    by ``radius`` reads from (the refusal of a padded copy too large kept, though none
    is made)."""
    height, width = image.shape[:2]
    padded = (height + 2 * radius, width + 2 * radius) + image.shape[2:]
    engine.check_budget("the padded image", padded, image.shape)
    rows = engine.pad_index(height, radius, radius, border, np.int32)
    columns = engine.pad_index(width, radius, radius, border, np.int32)
    return np.ascontiguousarray(image), rows, columns


def median(image: np.ndarray, size: int, border: str) -> np.ndarray | None:
    """Median of float32 ``image`` (H, W[, C]) over ``size`` × ``size``, or None.

    >>> flat = np.full((4, 5), 7, np.float32)
    >>> result = median(flat, 5, "wrap")
    >>> result is None or bool((result == 7).all())
    True
    """
    kernels = _native.module("_median")
    if kernels is None or size < 3 or size > kernels.MAX_SIZE or image.dtype != np.float32:
        return None
    r = size // 2
    source, rowmap, colmap = _read_padded(image, r, border)
    out = np.empty(image.shape, dtype=np.float32)
    program = slot_program(size)

    def run(r0: int, r1: int) -> None:
        kernels.median_band(source, rowmap[r0 : r1 + 2 * r], colmap, out[r0:r1], size, program)

    row_bytes = out[0].nbytes
    engine.in_bands(out.shape[0], row_bytes, run, band_bytes=MEDIAN_BAND_BYTES)
    return out


def bilateral(image, radius: int, offsets, space, range_scale, border: str) -> np.ndarray | None:
    """The bilateral filter of float32 ``image`` compiled, or None.

    ``offsets`` are half the window's (dy, dx), ``space`` their float32 log space
    weights and ``range_scale`` the float32 factor of d², as
    :func:`imgfilter.ops.denoise.bilateral` computes them.

    >>> flat = np.full((6, 7, 3), 9, np.float32)
    >>> result = bilateral(flat, 1, [(0, 1), (1, -1), (1, 0), (1, 1)], [-0.5, -1, -0.5, -1],
    ...                    np.float32(-0.01), "reflect")
    >>> result is None or bool((result == 9).all())
    True
    """
    kernels = _native.module("_bilateral")
    channels = image.shape[2] if image.ndim == 3 else 1
    if kernels is None or image.dtype != np.float32 or channels > kernels.MAX_CHANNELS:
        return None
    source, rowmap, colmap = _read_padded(image, radius, border)
    dy = np.array([o[0] for o in offsets], dtype=np.int32)
    dx = np.array([o[1] for o in offsets], dtype=np.int32)
    space = np.asarray(space, dtype=np.float32)
    inverse = np.float32(1.0 / channels)
    out = np.empty(image.shape, dtype=np.float32)

    def run(r0: int, r1: int) -> None:
        rows = rowmap[r0 : r1 + 2 * radius]
        kernels.bilateral_band(
            source, rows, colmap, out[r0:r1], radius, dy, dx, space, range_scale, inverse
        )

    row_bytes = out[0].nbytes
    min_rows = max(16, 4 * radius)
    engine.in_bands(
        out.shape[0], row_bytes, run, band_bytes=BILATERAL_BAND_BYTES, min_rows=min_rows
    )
    return out
