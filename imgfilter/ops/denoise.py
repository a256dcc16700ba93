"""Noise removal: mean, median, Gaussian, bilateral and non-local means.

>>> import numpy as np
>>> speck = np.full((5, 5), 10.0); speck[2, 2] = 255
>>> float(denoise(speck, "median")[2, 2])
10.0
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import ndimage

from imgfilter import engine
from imgfilter._checks import size_text
from imgfilter.choices import DENOISE_METHODS
from imgfilter.engine import BORDER
from imgfilter.ops import filters
from imgfilter.ops.filters import SIGMA
from imgfilter.params import Param, takes

ODD = Param("int", low=1, odd=True)
"""A window side with a centre pixel."""
# Which keyword each method reads; any other one given is an error.
METHOD_PARAMS = {
    "mean": ("size",),
    "median": ("size",),
    "gaussian": ("sigma",),
    "bilateral": ("sigma", "sigma_range", "size"),
    "nlm": ("h", "patch", "search"),
}
# Median windows up to this size run as a selection network of elementwise
# min/max (exact, vectorised); larger ones use scipy.ndimage.median_filter.
MEDIAN_NETWORK_MAX = 11
# Work is split into bands of rows whose arrays are about this many bytes, so the
# temporaries of one band stay in the cache; bands run on all cores.
BAND_BYTES = 1 << 18
# The median network's working set per band (bytes, all live arrays together).
MEDIAN_WORKING_SET = 1 << 21


def _check_method_params(arguments: dict) -> None:
    method = arguments["method"]
    extra = [
        f"{k}={arguments[k]!r}"
        for k in ("size", "sigma", "sigma_range", "h", "patch", "search")
        if arguments[k] is not None and k not in METHOD_PARAMS[method]
    ]
    if extra:
        takes = ", ".join(METHOD_PARAMS[method] + ("border",))
        raise ValueError(f"denoise method {method!r} takes {takes}; got {', '.join(extra)}")


@takes(
    method=Param("choice", choices=DENOISE_METHODS),
    size=Param("pair"),
    sigma=SIGMA,
    sigma_range=SIGMA,
    h=SIGMA,
    patch=ODD,
    search=ODD,
    border=BORDER,
    also=_check_method_params,
)
def denoise(
    image,
    method: str = "median",
    *,
    size=None,
    sigma: float | None = None,
    sigma_range: float | None = None,
    h: float | None = None,
    patch: int | None = None,
    search: int | None = None,
    border: str = "reflect",
) -> np.ndarray:
    """Remove noise from ``image`` with one of the classical smoothing filters.

    Parameters
    ----------
    image : array (H, W) or (H, W, C), 0-255 scale
    method : str
        ``mean``: average over a ``size`` window (default 3; int or (h, w)).
        ``median``: median over a ``size`` × ``size`` window (default 3, odd: an
        even window has no centre pixel). Best for salt-and-pepper noise.
        ``gaussian``: Gaussian blur of standard deviation ``sigma`` pixels (default 1).
        ``bilateral``: a Gaussian of ``sigma`` pixels (default 2) weighted by how
        close each neighbour's colour is, a Gaussian of ``sigma_range`` in 0-255
        units (default 30); over a round window ``size`` pixels across (odd;
        default 2 * round(1.5 * sigma) + 1, as OpenCV). Smooths and keeps edges.
        ``nlm``: non-local means: the average of the pixels in a ``search`` ×
        ``search`` window (default 11) weighted by exp(-d² / h²), d² the mean
        squared difference of the ``patch`` × ``patch`` neighbourhoods (default 5)
        and ``h`` the strength in 0-255 units (default 10, about the noise sigma).
    border : how pixels beyond the edge are filled (see ``engine``), default reflect

    Returns
    -------
    float32 array, the shape of ``image``

    Notes
    -----
    Colour images are filtered channel by channel, except ``bilateral`` and
    ``nlm``, which compare whole colours (the distance over all channels) so the
    channels keep their edges in the same places.

    Examples
    --------
    >>> image = np.array([[0, 0, 0, 0], [0, 90, 0, 0], [0, 0, 0, 0]], dtype=float)
    >>> float(denoise(image, "median", size=3).max())
    0.0
    >>> float(denoise(image, "mean", size=3)[1, 1])
    10.0
    """
    if method == "mean":
        return filters.box(image, 3 if size is None else size, border=border)
    if method == "gaussian":
        return filters.gaussian(image, 1.0 if sigma is None else sigma, border=border)
    side = None if size is None else _square("size", size)
    if method == "median":
        return median(image, 3 if side is None else side, border=border)
    if method == "bilateral":
        return bilateral(
            image,
            2.0 if sigma is None else sigma,
            30.0 if sigma_range is None else sigma_range,
            side,
            border=border,
        )
    return nl_means(
        image,
        10.0 if h is None else h,
        5 if patch is None else patch,
        11 if search is None else search,
        border=border,
    )


def _square(name: str, size: tuple[int, int]) -> int:
    if size[0] != size[1]:
        raise ValueError(f"{name} must be one side for a square window, got {size_text(size)}")
    return size[0]


# --- median ------------------------------------------------------------------------------


@takes(size=ODD, border=BORDER)
def median(image, size: int = 3, *, border: str = "reflect") -> np.ndarray:
    """Median over a ``size`` × ``size`` window (odd size), each channel alone.

    Exact for any data. Windows up to ``MEDIAN_NETWORK_MAX`` run as a pruned
    min/max selection network over shifted views, band by band; an image whose
    values are all integers in 0-255 runs on uint8 (4x less memory traffic, same
    result). Larger windows use scipy.ndimage.median_filter.

    >>> float(median(np.array([[1.0, 9.0, 2.0], [8.0, 3.0, 7.0], [4.0, 6.0, 5.0]]))[1, 1])
    5.0
    """
    if size == 1:
        return image.copy()
    r = size // 2
    if size > MEDIAN_NETWORK_MAX:
        padded = engine.pad(image, (r, r, r, r), border)
        window = (size, size) + (1,) * (image.ndim - 2)
        return ndimage.median_filter(padded, size=window, mode="nearest")[r:-r, r:-r]
    # Most images fresh from a file hold 8-bit values: try uint8, which each band
    # checks against the original while it is in the cache.
    with np.errstate(invalid="ignore"):
        small = image.astype(np.uint8)
    result = _network_median(engine.pad(small, (r, r, r, r), border), size, original=image)
    if result is None:
        result = _network_median(engine.pad(image, (r, r, r, r), border), size)
    return result


def _network_median(padded: np.ndarray, size: int, original=None) -> np.ndarray | None:
    """Median filter (float32) of a padded array by the selection network for ``size``.

    With ``original``, returns None unless the unpadded part of ``padded`` equals it.
    """
    r = size // 2
    out = np.empty(
        (padded.shape[0] - 2 * r, padded.shape[1] - 2 * r) + padded.shape[2:], dtype=np.float32
    )
    column_sort, window_ops, result = _median_program(size)
    inexact = []

    def run(r0: int, r1: int) -> None:
        band = padded[r0 : r1 + 2 * r]
        if original is not None:
            if inexact or not np.array_equal(band[r:-r, r:-r], original[r0:r1]):
                inexact.append(r0)
                return
        rows, width = r1 - r0, out.shape[1]
        # Stage 1: sort every column of `size` pixels (shared by all windows on the row).
        ranks = [band[i : i + rows] for i in range(size)]
        for lo, hi in column_sort:
            a, b = ranks[lo], ranks[hi]
            ranks[lo], ranks[hi] = np.minimum(a, b), np.maximum(a, b)
        # Stage 2: merge the `size` sorted columns of each window, keeping only the
        # comparisons the middle element depends on.
        values = {
            j * size + i: ranks[i][:, j : j + width] for j in range(size) for i in range(size)
        }
        for dst, kind, a, b, last_a, last_b in window_ops:
            values[dst] = (np.minimum if kind == "min" else np.maximum)(values[a], values[b])
            if last_a:
                del values[a]
            if last_b and b != a:
                del values[b]
        out[r0:r1] = values[result]

    # About size² arrays of a band are alive at once: keep them within the cache.
    band_bytes = MEDIAN_WORKING_SET // (size * size)
    engine.in_bands(out.shape[0], padded[0].nbytes, run, band_bytes=band_bytes)
    return None if inexact else out


@cache
def _median_program(size: int):
    """(column sorting network, pruned window network, id of the median) for ``size``.

    Values are numbered: ``j * size + i`` is rank i of column j of the window; each
    min/max appends a new id. Columns are merged pairwise with Batcher's odd-even
    merge; operations that do not feed the median are dropped.
    """
    column_sort = _sorting_network(size)
    ops: list[tuple[str, int, int]] = []
    next_id = [size * size]

    def exchange(a, b):
        # None stands for +infinity (padding to a power of two): no work needed.
        if b is None:
            return a, b
        if a is None:
            return b, None
        lo, hi = next_id[0], next_id[0] + 1
        next_id[0] += 2
        ops.extend([("min", a, b), ("max", a, b)])
        return lo, hi

    def merge(first, second):
        half = 1 << (max(len(first), len(second)) - 1).bit_length()
        wires = first + [None] * (half - len(first)) + second + [None] * (half - len(second))
        for a, b in _merge_pairs(0, 2 * half - 1, 1):
            wires[a], wires[b] = exchange(wires[a], wires[b])
        return wires[: len(first) + len(second)]

    lists = [[j * size + i for i in range(size)] for j in range(size)]
    while len(lists) > 1:
        merged = [merge(lists[i], lists[i + 1]) for i in range(0, len(lists) - 1, 2)]
        lists = merged + ([lists[-1]] if len(lists) % 2 else [])
    result = lists[0][(size * size - 1) // 2]
    base = size * size
    needed, kept = {result}, []
    for index in range(len(ops) - 1, -1, -1):
        if base + index in needed:
            kind, a, b = ops[index]
            kept.append((base + index, kind, a, b))
            needed.update((a, b))
    kept.reverse()
    last_use: dict[int, int] = {}
    for position, (_, _, a, b) in enumerate(kept):
        last_use[a] = last_use[b] = position
    program = tuple(
        (dst, kind, a, b, last_use[a] == pos and a >= base, last_use[b] == pos and b >= base)
        for pos, (dst, kind, a, b) in enumerate(kept)
    )
    return tuple(column_sort), program, result


def _sorting_network(n: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs (lo, hi) that sort n wires: odd-even merge sort, pruned to n."""
    size = 1 << max(0, (n - 1).bit_length())
    pairs: list[tuple[int, int]] = []

    def sort(lo: int, m: int) -> None:
        if m > 1:
            sort(lo, m // 2)
            sort(lo + m // 2, m // 2)
            pairs.extend(_merge_pairs(lo, lo + m - 1, 1))

    sort(0, size)
    # Wires at n and beyond hold +infinity: comparisons with them change nothing.
    return [(a, b) for a, b in pairs if b < n]


def _merge_pairs(lo: int, hi: int, step: int):
    """Batcher's odd-even merge of wires lo..hi (inclusive) taken every ``step``."""
    double = step * 2
    if double < hi - lo:
        yield from _merge_pairs(lo, hi, double)
        yield from _merge_pairs(lo + step, hi, double)
        for i in range(lo + step, hi - step, double):
            yield (i, i + step)
    else:
        yield (lo, lo + step)


# --- bilateral and non-local means --------------------------------------------------------


@takes(sigma=SIGMA, sigma_range=SIGMA, size=ODD, border=BORDER)
def bilateral(
    image,
    sigma: float = 2.0,
    sigma_range: float = 30.0,
    size: int | None = None,
    *,
    border: str = "reflect",
) -> np.ndarray:
    """Bilateral filter: neighbours weighted by distance (``sigma``) and colour difference.

    The weight of a neighbour at offset (dy, dx) with colour difference d (d² the
    mean over the channels of the squared differences, so σr keeps its gray-level
    meaning on colour) is exp(-(dy² + dx²) / 2σ²) · exp(-d² / 2σr²),
    over the offsets with dy² + dx² <= radius², radius = size // 2.

    >>> step = np.zeros((3, 6)); step[:, 3:] = 200
    >>> bilateral(step, sigma=2, sigma_range=10)[0].round(3)
    array([  0.,   0.,   0., 200., 200., 200.], dtype=float32)
    """
    size = 2 * int(np.floor(1.5 * sigma + 0.5)) + 1 if size is None else size
    radius = size // 2
    offsets = [
        (dy, dx)
        for dy in range(0, radius + 1)
        for dx in range(-radius, radius + 1)
        if (dy > 0 or dx > 0) and dy * dy + dx * dx <= radius * radius
    ]
    range_scale = np.float32(-0.5 / sigma_range**2)

    def weight(a, b, offset):
        log_space = np.float32(-(offset[0] ** 2 + offset[1] ** 2) / (2 * sigma**2))
        d2 = _channel_sq_distance(a, b)
        d2 *= range_scale
        d2 += log_space
        return np.exp(d2, out=d2)

    return _neighbour_mean(image, radius, 0, offsets, weight, border)


@takes(h=SIGMA, patch=ODD, search=ODD, border=BORDER)
def nl_means(
    image, h: float = 10.0, patch: int = 5, search: int = 11, *, border: str = "reflect"
) -> np.ndarray:
    """Non-local means: average of similar-looking pixels within a search window.

    A pixel q in the ``search`` window around p weighs exp(-d² / h²), with d² the
    mean squared difference between the ``patch`` neighbourhoods of p and q
    (over the channels too); p itself weighs 1.

    >>> flat = np.full((8, 8), 50.0)
    >>> float(nl_means(flat, h=5, patch=3, search=5).max())
    50.0
    """
    radius, patch_radius = search // 2, patch // 2
    offsets = [
        (dy, dx)
        for dy in range(0, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy > 0 or dx > 0
    ]
    scale = np.float32(-1.0 / (h * h * patch * patch))
    ones = np.ones(patch)

    def weight(a, b, offset):
        d2 = _channel_sq_distance(a, b)
        # Mean over the patch: a box sum; the region's own border only touches
        # pixels that the final crop removes.
        d2 = engine.correlate_separable(d2, ones, ones, border="edge")
        d2 *= scale
        return np.exp(d2, out=d2)

    return _neighbour_mean(image, radius, patch_radius, offsets, weight, border)


def _channel_sq_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean over the channels of (a - b)², for channel-first (C, H, W) planes."""
    total = np.subtract(a[0], b[0])
    total *= total
    for plane_a, plane_b in zip(a[1:], b[1:], strict=True):
        diff = plane_a - plane_b
        diff *= diff
        total += diff
    if len(a) > 1:
        total *= np.float32(1.0 / len(a))
    return total


def _neighbour_mean(image, radius, margin, offsets, weight, border) -> np.ndarray:
    """Weighted mean of neighbours at ``offsets`` and their mirrors, plus the pixel itself.

    ``offsets`` hold half of a symmetric window: the weight between p and p + o is
    computed once and used for both (p gets p + o, and p + o gets p).
    """
    pad = radius + margin
    padded = engine.pad(image, (pad, pad, pad, pad), border)
    height, width = image.shape[:2]
    out = np.empty_like(image)
    colour = image.ndim == 3

    def run(r0: int, r1: int) -> None:
        # Channel-first planes: every operation below runs over contiguous rows.
        canvas = padded[r0 : r1 + 2 * pad]
        planes = np.moveaxis(canvas, 2, 0).copy() if colour else canvas[None].copy()
        total = planes.copy()
        weights = np.ones(planes.shape[1:], dtype=np.float32)
        scratch = np.empty_like(weights)
        rows, cols = weights.shape
        for dy, dx in offsets:
            a_at = (slice(0, rows - dy), slice(max(0, -dx), cols - max(0, dx)))
            b_at = (slice(dy, rows), slice(max(0, dx), cols + min(0, dx)))
            w = weight(planes[(slice(None),) + a_at], planes[(slice(None),) + b_at], (dy, dx))
            part = scratch[: w.shape[0], : w.shape[1]]
            for plane, sums in zip(planes, total, strict=True):
                sums[a_at] += np.multiply(w, plane[b_at], out=part)
                sums[b_at] += np.multiply(w, plane[a_at], out=part)
            weights[a_at] += w
            weights[b_at] += w
        inner = (slice(pad, pad + r1 - r0), slice(pad, pad + width))
        result = total[(slice(None),) + inner] / weights[inner]
        out[r0:r1] = np.moveaxis(result, 0, 2) if colour else result[0]

    row_bytes = max(1, padded[0].nbytes)
    engine.in_bands(height, row_bytes, run, band_bytes=BAND_BYTES, min_rows=max(16, 4 * pad))
    return out


__all__ = ["denoise", "median", "bilateral", "nl_means"]
