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


def index_map(length: int, before: int, after: int, border: str) -> np.ndarray:
    """Where each padded position reads from (int32), as ``numpy.pad`` fills it; -1 is 0.

    >>> index_map(3, 2, 1, "reflect").tolist(), index_map(2, 1, 1, "constant").tolist()
    ([2, 1, 0, 1, 2, 1], [-1, 0, 1, -1])
    """
    positions = np.arange(length, dtype=np.int32)
    if border == "constant":
        return np.pad(positions, (before, after), mode="constant", constant_values=-1)
    return np.pad(positions, (before, after), mode=border)


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
    engine.check_budget(
        "the padded image",
        (image.shape[0] + 2 * r, image.shape[1] + 2 * r) + image.shape[2:],
        image.shape,
    )
    source = np.ascontiguousarray(image)
    rowmap = index_map(image.shape[0], r, r, border)
    colmap = index_map(image.shape[1], r, r, border)
    out = np.empty(image.shape, dtype=np.float32)
    program = slot_program(size)

    def run(r0: int, r1: int) -> None:
        kernels.median_band(source, rowmap[r0 : r1 + 2 * r], colmap, out[r0:r1], size, program)

    row_bytes = out[0].nbytes
    engine.in_bands(out.shape[0], row_bytes, run, band_bytes=MEDIAN_BAND_BYTES)
    return out
