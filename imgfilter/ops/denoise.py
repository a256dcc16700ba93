"""Noise removal: mean, median, Gaussian, bilateral and non-local means.

>>> import numpy as np
>>> speck = np.full((5, 5), 10.0); speck[2, 2] = 255
>>> float(denoise(speck, "median")[2, 2])
10.0
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from imgfilter import engine
from imgfilter._checks import shown, size_text
from imgfilter.choices import DENOISE_METHODS
from imgfilter.engine import BORDER
from imgfilter.ops import _denoise_native, filters
from imgfilter.ops._median_network import median_program
from imgfilter.ops.filters import SIGMA, WINDOW
from imgfilter.params import Param, takes

MEDIAN_SIZE = Param(
    "int", low=1, odd=True, high=201, why="a median window side; each pixel sorts size² values"
)
BILATERAL_SIZE = Param(
    "int",
    low=1,
    odd=True,
    high=101,
    why="a bilateral window side; each pixel weighs about 0.8·size² neighbours",
)
SEARCH = Param(
    "int",
    low=1,
    odd=True,
    high=51,
    why="a search window side; each pixel compares search² patches",
)
PATCH = Param(
    "int", low=1, odd=True, high=25, why="a patch side; each comparison sums patch² differences"
)
RANGE = Param(
    "float",
    low=0,
    low_open=True,
    high=1e6,
    why="a difference on the 0-255 scale; far beyond it every weight is 1",
)
"""A colour difference (bilateral's sigma_range, nlm's h)."""
# Which keyword each method reads; any other one given is an error.
METHOD_PARAMS = {
    "mean": ("size",),
    "median": ("size",),
    "gaussian": ("sigma",),
    "bilateral": ("sigma", "sigma_range", "size"),
    "nlm": ("h", "patch", "search"),
}
# Median windows up to this size run as a selection network of elementwise
# min/max (exact, vectorised); larger ones partition each window's values.
MEDIAN_NETWORK_MAX = 11
# Work is split into bands of rows whose arrays are about this many bytes, so the
# temporaries of one band stay in the cache; bands run on all cores.
BAND_BYTES = 1 << 18
# The median network's working set per band (bytes, all live arrays together).
MEDIAN_WORKING_SET = 1 << 21
# Values copied at once by the partitioning median (larger windows).
MEDIAN_PARTITION_VALUES = 1 << 22


def _check_method_params(arguments: dict) -> None:
    method = arguments["method"]
    extra = [
        f"{k}={shown(arguments[k])}"
        for k in ("size", "sigma", "sigma_range", "h", "patch", "search")
        if arguments[k] is not None and k not in METHOD_PARAMS[method]
    ]
    if extra:
        takes = ", ".join(METHOD_PARAMS[method] + ("border",))
        raise ValueError(f"denoise method {method!r} takes {takes}; got {', '.join(extra)}")
    size = arguments["size"]
    if method in ("median", "bilateral") and size is not None:
        side = _square("size", size)
        (MEDIAN_SIZE if method == "median" else BILATERAL_SIZE).check("size", side)
    if method == "bilateral" and size is None:
        _check_bilateral_window({"sigma": arguments["sigma"] or 2.0, "size": None})


@takes(
    method=Param("choice", choices=DENOISE_METHODS),
    size=WINDOW,
    sigma=SIGMA,
    sigma_range=RANGE,
    h=RANGE,
    patch=PATCH,
    search=SEARCH,
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
        units (default 30); over a round window ``size`` pixels across (odd, at
        most 101; default 2 * round(1.5 * sigma) + 1 with round half to even, as
        OpenCV's cvRound: sigma 3 gives 9). Smooths and keeps edges.
        ``nlm``: non-local means: the average of the pixels in a ``search`` ×
        ``search`` window (default 11, at most 51) weighted by exp(-d² / h²), d² the
        mean squared difference of the ``patch`` × ``patch`` neighbourhoods (default 5,
        at most 25) and ``h`` the strength in 0-255 units (default 10, about the
        noise sigma).
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
        return filters.box(image, **_given(size=size), border=border)
    if method == "gaussian":
        return filters.gaussian(image, **_given(sigma=sigma), border=border)
    side = None if size is None else _square("size", size)
    if method == "median":
        return median(image, **_given(size=side), border=border)
    if method == "bilateral":
        given = _given(sigma=sigma, sigma_range=sigma_range, size=side)
        return bilateral(image, **given, border=border)
    return nl_means(image, **_given(h=h, patch=patch, search=search), border=border)


def window_side(method: str, size=None, sigma=None, patch=None, search=None) -> int | None:
    """The side of the square window that median, bilateral and nlm read for one pixel
    (the others are a box or a Gaussian kernel); the defaults are the functions' own.

    >>> window_side("median"), window_side("bilateral", sigma=3), window_side("nlm")
    (3, 9, 15)
    """
    side = None if size is None else _square("size", size)
    if method == "median":
        return side or median.defaults["size"]
    if method == "bilateral":
        return side or bilateral_size(sigma or bilateral.defaults["sigma"])
    if method == "nlm":
        return (search or nl_means.defaults["search"]) + (patch or nl_means.defaults["patch"]) - 1
    return None


def _given(**values):
    """The arguments given (not None), so the called function's own defaults apply."""
    return {k: v for k, v in values.items() if v is not None}


def _square(name: str, size) -> int:
    size = (size, size) if isinstance(size, int) else size
    if size[0] != size[1]:
        raise ValueError(f"{name} must be one side for a square window, got {size_text(size)}")
    return size[0]


# --- median ------------------------------------------------------------------------------


@takes(size=MEDIAN_SIZE, border=BORDER)
def median(image, size: int = 3, *, border: str = "reflect") -> np.ndarray:
    """Median over a ``size`` × ``size`` window (odd size, at most 201), each channel alone.

    Exact for any data. Windows up to ``MEDIAN_NETWORK_MAX`` run as a pruned
    min/max selection network over shifted views, band by band; an image whose
    values are all integers in 0-255 runs on uint8 (4x less memory traffic, same
    result). Larger windows partition each window's values, a few rows at a time.

    >>> float(median(np.array([[1.0, 9.0, 2.0], [8.0, 3.0, 7.0], [4.0, 6.0, 5.0]]))[1, 1])
    5.0
    """
    if size == 1:
        return image.copy()
    compiled = _denoise_native.median(image, size, border)
    if compiled is not None:
        return compiled
    r = size // 2
    if size > MEDIAN_NETWORK_MAX:
        return _partition_median(engine.pad(image, (r, r, r, r), border), size)
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
    column_sort, window_ops, result = median_program(size)
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


def _partition_median(padded: np.ndarray, size: int) -> np.ndarray:
    """Median filter of a padded array: each window's values copied and partitioned.

    Memory stays at ``MEDIAN_PARTITION_VALUES`` values per band whatever the window.
    """
    r, middle = size // 2, size * size // 2
    out = np.empty(
        (padded.shape[0] - 2 * r, padded.shape[1] - 2 * r) + padded.shape[2:], dtype=np.float32
    )
    per_pixel = size * size * int(np.prod(padded.shape[2:], dtype=np.int64))
    columns = max(1, MEDIAN_PARTITION_VALUES // per_pixel)

    def run(r0: int, r1: int) -> None:
        for c0 in range(0, out.shape[1], columns):
            c1 = min(out.shape[1], c0 + columns)
            block = padded[r0 : r1 + 2 * r, c0 : c1 + 2 * r]
            windows = sliding_window_view(block, (size, size), axis=(0, 1))
            values = np.empty(windows.shape, dtype=padded.dtype)
            values[...] = windows
            values = values.reshape(*windows.shape[:-2], size * size)
            values.partition(middle, axis=-1)
            out[r0:r1, c0:c1] = values[..., middle]

    row_values = min(out.shape[1], columns) * per_pixel
    engine.in_bands(out.shape[0], row_values * 4, run, band_bytes=MEDIAN_PARTITION_VALUES * 4)
    return out


# --- bilateral and non-local means --------------------------------------------------------


def bilateral_size(sigma: float) -> int:
    """The default bilateral window: ``2 * round(1.5 * sigma) + 1``, half to even (cvRound).

    >>> bilateral_size(2), bilateral_size(3)
    (7, 9)
    """
    return 2 * round(1.5 * sigma) + 1


def _check_bilateral_window(arguments: dict) -> None:
    if arguments["size"] is not None:
        return
    side, limit = bilateral_size(arguments["sigma"]), BILATERAL_SIZE.high
    if side > limit:
        raise ValueError(
            f"sigma={arguments['sigma']:g} gives a default bilateral window of {side}, above"
            f" the limit of {limit:g} ({BILATERAL_SIZE.why}); give size= or a smaller sigma"
        )


@takes(
    sigma=SIGMA,
    sigma_range=RANGE,
    size=BILATERAL_SIZE,
    border=BORDER,
    also=_check_bilateral_window,
)
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
    over the offsets with dy² + dx² <= radius², radius = size // 2. Without
    ``size`` the window is :func:`bilateral_size` of ``sigma`` (OpenCV's rule).

    >>> step = np.zeros((3, 6)); step[:, 3:] = 200
    >>> bilateral(step, sigma=2, sigma_range=10)[0].round(3)
    array([  0.,   0.,   0., 200., 200., 200.], dtype=float32)
    """
    size = bilateral_size(sigma) if size is None else size
    radius = size // 2
    offsets = [
        (dy, dx)
        for dy in range(0, radius + 1)
        for dx in range(-radius, radius + 1)
        if (dy > 0 or dx > 0) and dy * dy + dx * dx <= radius * radius
    ]
    range_scale = _log_scale(-0.5, sigma_range)
    space = [_log_scale(-0.5 * (dy * dy + dx * dx), sigma) for dy, dx in offsets]
    compiled = _denoise_native.bilateral(image, radius, offsets, space, range_scale, border)
    if compiled is not None:
        return compiled

    def weight(a, b, offset):
        log_space = _log_scale(-0.5 * (offset[0] ** 2 + offset[1] ** 2), sigma)
        d2 = _channel_sq_distance(a, b)
        d2 *= range_scale
        d2 += log_space
        return np.exp(d2, out=d2)

    return _neighbour_mean(image, radius, 0, offsets, weight, border)


def _log_scale(factor: float, sigma: float) -> np.float32:
    """``factor / sigma²`` as a finite float32 (a tiny sigma gives a huge weight, not inf)."""
    limit = float(np.finfo(np.float32).max)
    return np.float32(min(limit, max(-limit, factor / sigma / sigma)))


@takes(h=RANGE, patch=PATCH, search=SEARCH, border=BORDER)
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
    scale = _log_scale(-1.0 / (patch * patch), h)
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
        # A tiny sigma scales distances to -inf: its weights are exactly 0.
        with np.errstate(over="ignore"):
            band(r0, r1)

    def band(r0: int, r1: int) -> None:
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
