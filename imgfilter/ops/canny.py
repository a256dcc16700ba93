"""Canny edge detection: smooth, differentiate, thin, and keep the connected strong edges.

The four steps, each vectorised over the whole image:

- Gaussian smoothing with ``sigma`` (0: none).
- 3×3 Sobel derivatives in image coordinates, x to the right and y down,
  unnormalised ([-1 0 1] times [1 2 1]), and their L2 magnitude: a step of
  height h gives 4h, the scale of OpenCV's ``Canny(..., L2gradient=True)``.
- Non-maximum suppression: a pixel survives when its magnitude beats both
  neighbours along the gradient direction, each interpolated linearly between
  the two nearest of its 8 neighbours (not only four quantised directions).
- Double threshold and hysteresis: survivors above ``high`` are edges, and so
  is every survivor above ``low`` 8-connected to one (``scipy.ndimage.label``).

With the compiled kernels (``imgfilter._native``, ``_canny``), the gradient and the
suppression run as one pass per band of rows and the hysteresis as a flood fill
from the strong pixels; the result is the same bit for bit.

>>> import numpy as np
>>> image = np.zeros((5, 6)); image[:, 3:] = 100
>>> canny(image, sigma=0, low=100, high=200).astype(int)
array([[0, 0, 0, 1, 0, 0],
       [0, 0, 0, 1, 0, 0],
       [0, 0, 0, 1, 0, 0],
       [0, 0, 0, 1, 0, 0],
       [0, 0, 0, 1, 0, 0]])
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from imgfilter import _native, engine
from imgfilter.ops import filters
from imgfilter.params import Param, takes

# Rows per band: NMS works on a band of rows at a time, so its temporaries stay small.
BAND_ROWS = 32
# Rows per band of the compiled pass (it keeps only three rows; each band redoes two).
COMPILED_BAND_ROWS = 128
# Rows per band of the compiled flood fill (the joins between bands run on one thread).
HYSTERESIS_BAND_ROWS = 256
# Above this many pixels, automatic thresholds look at every second row and column.
SAMPLE_ABOVE = 1 << 22
# Magnitudes closer than this fraction of each other are equal for NMS.
TIE_TOLERANCE = 1e-5
# The 3×3 Sobel derivative as two 1-D passes: smooth across, differentiate along.
SOBEL_SMOOTH = (1.0, 2.0, 1.0)
SOBEL_DIFF = (-1.0, 0.0, 1.0)


def _check_thresholds(arguments: dict) -> None:
    low, high, quantiles = arguments["low"], arguments["high"], arguments["quantiles"]
    if quantiles is not None and (low is not None or high is not None):
        raise ValueError("give either low/high thresholds or quantiles, not both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"low must be <= high, got low={low:g} and high={high:g}")


_PARAMS = {
    "sigma": replace(filters.SIGMA, low_open=False),
    "low": Param("float", low=0),
    "high": Param("float", low=0),
    "quantiles": Param("interval", low=0, high=1),
}


@takes(reads_bytes=True, **_PARAMS, also=_check_thresholds)
def canny(
    image,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    *,
    quantiles: tuple[float, float] | None = None,
) -> np.ndarray:
    """Canny edge map of ``image``: a boolean array, True on one-pixel-wide edges.

    Parameters
    ----------
    image : array (H, W) or (H, W, C)
        Colour is converted to luminance first (0.299 R + 0.587 G + 0.114 B).
    sigma : float
        Standard deviation of the Gaussian smoothing, in pixels; 0 skips it.
    low, high : float, optional
        Thresholds on the L2 gradient magnitude of the smoothed image, in the
        units of OpenCV's ``Canny(..., L2gradient=True)`` on 0-255 data: a pixel
        is an edge when its magnitude is above ``high``, or above ``low`` and
        8-connected to such a pixel. Give one and the other follows at a 1:2 ratio.
    quantiles : (float, float), optional
        Set ``low`` and ``high`` to these quantiles (in [0, 1]) of the magnitude
        over the whole image, as scikit-image's ``use_quantiles``: (0.8, 0.9)
        keeps pixels stronger than 80 % of the image, seeded above 90 %.

    Returns
    -------
    bool array (H, W)

    Notes
    -----
    Automatic thresholds (no ``low``, ``high`` or ``quantiles``), median-based:
    ``high = max(4 × median, 0.1 × maximum)`` of the gradient magnitude and
    ``low = high / 2``. The median measures noise and fine texture, since most
    pixels are not on edges; the floor at 10 % of the strongest edge keeps a clean
    or mostly flat image (median near 0) from turning every ripple into an edge.
    Above 4 megapixels the median and quantiles are taken over every second row
    and column.

    Ties between two equal neighbours along the gradient go to the lower/right
    pixel, so a step edge gives one line of pixels, not two; magnitudes within
    a relative 1e-5 are ties (float32 rounding), so the even gradient of a ramp
    yields no edges inside it. Where edges meet,
    a 2×2 block of edge pixels can remain, as in OpenCV and scikit-image.

    Examples
    --------
    A step of 100 between rows 2 and 3 has magnitude 4 * 100 on both rows; the
    tie goes to the lower (or right) pixel:

    >>> image = np.zeros((6, 4)); image[3:] = 100
    >>> canny(image, sigma=0, low=100, high=200)[:, 0]
    array([False, False, False,  True, False, False])
    """
    compiled = _native.module("_canny")
    if compiled is not None:
        low, high = _pair(low, high)
        return _compiled_canny(compiled, _smoothed(image, sigma), low, high, quantiles)
    magnitude, maxima, (low, high) = _magnitude_and_thresholds(image, sigma, low, high, quantiles)
    candidates = maxima & (magnitude > low)
    return _hysteresis(candidates, candidates & (magnitude > high))


@takes(reads_bytes=True, **_PARAMS, also=_check_thresholds)
def thresholds(image, sigma=1.0, low=None, high=None, *, quantiles=None) -> tuple[float, float]:
    """The (low, high) thresholds :func:`canny` uses on ``image`` with these arguments.

    >>> image = np.zeros((8, 8)); image[:, 4:] = 100
    >>> thresholds(image, sigma=0)
    (20.0, 40.0)
    """
    return _magnitude_and_thresholds(image, sigma, low, high, quantiles)[2]


def _pair(low, high):
    """Both thresholds from one (1:2), or (None, None) for automatic ones."""
    if low is None and high is not None:
        return high / 2, high
    if high is None and low is not None:
        return low, low * 2
    return low, high


def _smoothed(image, sigma: float) -> np.ndarray:
    """The float32 luminance of ``image`` (float32, or uint8 read as it is), smoothed."""
    gray = filters.grayscale(image)
    return filters.gaussian(gray, sigma) if sigma > 0 else gray


def _magnitude_and_thresholds(image, sigma, low, high, quantiles):
    low, high = _pair(low, high)
    magnitude, maxima = _gradient_maxima(_smoothed(image, sigma))
    if low is None:
        low, high = _automatic_thresholds(magnitude, quantiles)
    return magnitude, maxima, (float(low), float(high))


def _compiled_canny(compiled, smoothed, low, high, quantiles) -> np.ndarray:
    """The whole of Canny after smoothing, compiled: equal to the numpy steps below.

    With given thresholds one pass per band writes class codes (candidate, strong)
    straight away; automatic ones need the magnitude first, then a second pass.
    """
    magnitude, classes = _compiled_bands(compiled, smoothed, _as_float32(low, high))
    if magnitude is not None:
        low, high = _automatic_thresholds(magnitude, quantiles, compiled)
        cuts = _as_float32(low, high)

        def run(r0: int, r1: int) -> None:
            compiled.classify(magnitude, classes, r0, r1, *cuts)

        engine.in_bands(len(magnitude), magnitude[0].nbytes, run)
    return _compiled_hysteresis(compiled, classes)


def _compiled_hysteresis(compiled, classes, band_rows: int = HYSTERESIS_BAND_ROWS) -> np.ndarray:
    """The compiled flood fill: bands of rows on every core, then the joins across them."""
    height, width = classes.shape[0] - 2, classes.shape[1] - 2
    starts = []

    def flood(r0: int, r1: int) -> None:
        compiled.flood(classes, r0, r1)
        starts.append(r0)

    engine.in_bands(height, width, flood, band_bytes=band_rows * width)
    compiled.join(classes, np.array(sorted(starts)[1:], dtype=np.int64))
    edges = np.empty((height, width), dtype=bool)
    engine.in_bands(height, width, lambda r0, r1: compiled.mark(classes, edges, r0, r1))
    return edges


def _compiled_bands(compiled, smoothed, cuts=(None, None)):
    """(magnitude or None, framed class codes): the compiled gradient and suppression.

    Without thresholds (``cuts`` None) the magnitude is kept and the codes are
    the maxima (0/1); with them, no magnitude and codes 0/1/2.
    """
    if smoothed.strides[1] != smoothed.itemsize or smoothed.strides[0] % smoothed.itemsize:
        smoothed = np.ascontiguousarray(smoothed)
    height, width = smoothed.shape
    classes = np.zeros((height + 2, width + 2), dtype=np.uint8)
    magnitude = np.empty_like(smoothed, order="C") if cuts[0] is None else None
    below, above = np.float32(1 - TIE_TOLERANCE), np.float32(1 + TIE_TOLERANCE)

    def run(r0: int, r1: int) -> None:
        compiled.band(smoothed, r0, r1, magnitude, classes, below, above, *cuts)

    row_bytes = smoothed[0].nbytes
    engine.in_bands(height, row_bytes, run, band_bytes=COMPILED_BAND_ROWS * row_bytes)
    return magnitude, classes


def _as_float32(low, high):
    """The thresholds as numpy compares them with float32 magnitudes (cast to float32)."""
    if low is None:
        return None, None
    with np.errstate(over="ignore"):
        return np.float32(low), np.float32(high)


def _gradient_maxima(smoothed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel magnitude of ``smoothed`` and where it is a maximum along the gradient.

    Work goes band by band (on all cores), each band's derivatives, magnitude
    and comparisons done while its rows are in the cache.
    """
    compiled = _native.module("_canny")
    if compiled is not None:
        magnitude, classes = _compiled_bands(compiled, smoothed)
        return magnitude, classes[1:-1, 1:-1].view(bool)
    height = smoothed.shape[0]
    magnitude = np.empty_like(smoothed)
    maxima = np.empty(smoothed.shape, dtype=bool)

    def run(r0: int, r1: int) -> None:
        # Derivatives for rows r0-1 .. r1 (the band and one neighbour row each
        # side) need smoothed rows r0-2 .. r1+1; rows the image lacks come from
        # the engine's reflect padding, exactly as for the whole image.
        top, bottom = max(r0 - 2, 0), min(r1 + 2, height)
        rows = smoothed[top:bottom]
        gx = engine.correlate_separable(rows, SOBEL_SMOOTH, SOBEL_DIFF)
        gy = engine.correlate_separable(rows, SOBEL_DIFF, SOBEL_SMOOTH)
        first, last = max(r0 - 1, 0) - top, min(r1 + 1, height) - top
        gx, gy = gx[first:last], gy[first:last]
        band = np.multiply(gx, gx)
        band += gy * gy
        np.sqrt(band, out=band)
        inner = slice(r0 - max(r0 - 1, 0), r0 - max(r0 - 1, 0) + r1 - r0)
        magnitude[r0:r1] = band[inner]
        padded = np.pad(band, ((int(r0 == 0), int(r1 == height)), (1, 1)), mode="reflect")
        maxima[r0:r1] = _band_maxima(padded, gx[inner], gy[inner])

    row_bytes = smoothed[0].nbytes
    engine.in_bands(height, row_bytes, run, band_bytes=BAND_ROWS * row_bytes)
    return magnitude, maxima


def _band_maxima(padded, gx, gy) -> np.ndarray:
    h, w = gx.shape

    def at(dy: int, dx: int) -> np.ndarray:
        return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    def pick(*terms) -> np.ndarray:
        # sum of mask * values with exactly one mask at 1: an exact selection, and
        # much faster than np.where on unpredictable masks.
        out = np.multiply(*terms[0])
        for mask, values in terms[1:]:
            out += mask * values
        return out

    ax, ay = np.abs(gx), np.abs(gy)
    across = (ax >= ay).astype(np.float32)  # the gradient points more along x than y
    along = 1 - across
    same = (gx * gy >= 0).astype(np.float32)  # it points to SE or NW (y grows downwards)
    other = 1 - same
    other_across, other_along = other * across, other * along
    # The weight of the diagonal neighbour: tan of the angle off the nearest axis.
    weight = np.minimum(ax, ay)
    weight /= np.maximum(ax, ay) + np.float32(1e-30)
    centre = at(0, 0)
    # Forward side: east (or south) and the diagonal the gradient leans to. Strict
    # there only: a plateau two pixels wide keeps exactly one of them. Differences
    # within TIE_TOLERANCE of the pixel's own magnitude are float32 rounding and
    # count as ties, so the flat magnitude along a ramp does not break up into
    # random maxima.
    near = pick((across, at(0, 1)), (along, at(1, 0)))
    diag = pick((same, at(1, 1)), (other_across, at(-1, 1)), (other_along, at(1, -1)))
    diag -= near
    diag *= weight
    diag += near
    keep = centre * np.float32(1 - TIE_TOLERANCE) > diag
    # Back side: the mirror image.
    near = pick((across, at(0, -1)), (along, at(-1, 0)))
    diag = pick((same, at(-1, -1)), (other_across, at(1, -1)), (other_along, at(-1, 1)))
    diag -= near
    diag *= weight
    diag += near
    keep &= centre * np.float32(1 + TIE_TOLERANCE) >= diag
    return keep


def _automatic_thresholds(magnitude: np.ndarray, quantiles, compiled=None) -> tuple[float, float]:
    # On large images every second row and column estimates the distribution well.
    sample = magnitude[::2, ::2] if magnitude.size > SAMPLE_ABOVE else magnitude
    if quantiles is not None:
        low, high = np.quantile(sample, quantiles)
        return float(low), float(high)
    median = _median(sample, compiled)
    high = max(4.0 * float(median), 0.1 * float(magnitude.max()))
    return high / 2, high


def _median(sample: np.ndarray, compiled=None):
    """``np.median(sample)``; with the compiled module, by selection instead of a partition.

    np.median is the mean (in float32) of the one or two middle values, and NaN
    when any value is NaN (then numpy's own answers).
    """
    if compiled is None:
        return np.median(sample)
    values = compiled.middle(sample)
    if values is None:
        return np.median(sample)
    return np.mean(np.array(values, dtype=np.float32))


def _hysteresis(candidates: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Candidates 8-connected (through other candidates) to at least one strong pixel."""
    labels, count = ndimage.label(candidates, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return candidates
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[strong]] = True
    keep[0] = False
    return keep[labels]
