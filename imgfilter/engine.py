"""The convolution engine: padding, borders, stride, dilation, and the strategy choice.

Every filter in imgfilter ends here. The engine slides the kernel over the image
and takes the weighted sum without flipping the kernel (cross-correlation, as in
CNNs and OpenCV's filter2D); ``flip=True`` rotates the kernel by 180 degrees for
the mathematical convolution (scipy.ndimage.convolve).

Border modes, shown on the row ``a b c d`` padded by three on the left::

    constant   0 0 0 | a b c d      (cval, default 0)
    reflect    d c b | a b c d      (numpy "reflect", OpenCV REFLECT_101; the default)
    symmetric  c b a | a b c d      (numpy "symmetric", OpenCV REFLECT)
    edge       a a a | a b c d      (numpy "edge", OpenCV REPLICATE)
    wrap       b c d | a b c d      (numpy "wrap", OpenCV WRAP)

Output size per axis: ``floor((N + pad_before + pad_after - (d*(k-1)+1)) / s) + 1``.

>>> import numpy as np
>>> image = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
>>> convolve(image, np.array([[0, 1], [2, 3]]), padding="valid")
array([[19., 25.],
       [37., 43.]], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from imgfilter import _compute
from imgfilter._checks import choice, integer, number, pair, shape_tuple, shown, size_text
from imgfilter._compute import in_bands as in_bands  # Canny and denoising band with it
from imgfilter._compute import pad_index as pad_index  # kernels that read padding by index
from imgfilter.choices import BORDER_HINTS, BORDERS, PADDING_WORDS, STRATEGIES
from imgfilter.kernels import Kernel, KernelBank, as_kernel, separable_factors
from imgfilter.params import MAX_DILATION, MAX_PADDING, MAX_STRIDE, Param, takes

BORDER = Param("choice", choices=BORDERS, hints=BORDER_HINTS)
"""The ``border`` parameter of every windowed operation."""
PADDING = Param(
    "padding", high=MAX_PADDING, why="pixels added at each side; more only repeats the border"
)
CVAL = Param("float")
STRIDE = Param("pair", high=MAX_STRIDE, why="a step between windows; larger ones only skip pixels")
DILATION = Param(
    "pair", high=MAX_DILATION, why="a gap between taps; a 3×3 kernel at 1024 spans 2049 pixels"
)

# The memory budget of arrays whose size the parameters, not the image, decide (a
# padded image, a stack of feature maps): BUDGET_FACTOR times the image, at least
# BUDGET_MIN_BYTES (float32).
BUDGET_FACTOR = 4
BUDGET_MIN_BYTES = 1 << 30
MAX_SPAN = 2 * MAX_PADDING + 1
"""Widest dilated kernel, d·(k-1)+1 per axis: its 'same' padding stays within MAX_PADDING."""

# Strategy thresholds, tuned with bench/run.py on 2 cores (see the README's
# Performance section). Direct costs one multiply-add pass per non-zero tap over
# the (strided) output; FFT costs a few passes over the whole padded image
# whatever the kernel. FFT wins once the taps per output pixel exceed this.
FFT_MIN_TAPS = 64

Pads = tuple[int, int, int, int]


@dataclass(frozen=True)
class Plan:
    """What the engine will do for one image and kernel: sizes, padding and strategy.

    >>> plan((6, 6), np.ones((3, 3)), padding="valid").output_shape
    (4, 4)
    """

    image_shape: tuple[int, ...]
    kernel_shape: tuple[int, ...]
    pads: Pads
    stride: tuple[int, int]
    dilation: tuple[int, int]
    output_shape: tuple[int, ...]
    strategy: str

    def explain(self) -> str:
        """The output-size formula with this plan's numbers filled in, one line per axis."""
        top, bottom, left, right = self.pads
        lines = []
        for axis, name, before, after in ((0, "H", top, bottom), (1, "W", left, right)):
            n, k = self.image_shape[axis], self.kernel_shape[axis]
            d, s = self.dilation[axis], self.stride[axis]
            eff = d * (k - 1) + 1
            lines.append(
                f"{name}: floor(({n} + {before} + {after} - ({d}*({k}-1)+1)) / {s}) + 1"
                f" = floor({n + before + after - eff} / {s}) + 1 = {self.output_shape[axis]}"
            )
        return "\n".join(lines) + f"\nstrategy: {self.strategy}"


def resolve_padding(padding, kernel_shape: Sequence[int], dilation=(1, 1)) -> Pads:
    """Turn a padding argument into ``(top, bottom, left, right)`` pixel counts.

    ``same`` pads ``d*(k-1)`` in total per axis, the odd pixel at the end.

    >>> resolve_padding("same", (4, 3))
    (1, 2, 1, 1)
    >>> resolve_padding((1, 2), (3, 3))
    (1, 1, 2, 2)
    """
    dy, dx = pair("dilation", dilation)
    if isinstance(padding, str):
        choice("padding", padding, PADDING_WORDS)
        if padding == "valid":
            return (0, 0, 0, 0)
        total_y = dy * (kernel_shape[0] - 1)
        total_x = dx * (kernel_shape[1] - 1)
        return (total_y // 2, total_y - total_y // 2, total_x // 2, total_x - total_x // 2)
    if isinstance(padding, (list, tuple)):
        if len(padding) not in (2, 4):
            raise ValueError(
                "padding must be 'valid', 'same', an integer, (py, px) or "
                f"(top, bottom, left, right); got {shown(padding)}"
            )
        values = [_pad_amount(f"padding[{i}]", v) for i, v in enumerate(padding)]
        if len(values) == 2:
            return (values[0], values[0], values[1], values[1])
        return tuple(values)
    amount = _pad_amount("padding", padding)
    return (amount, amount, amount, amount)


def _pad_amount(name: str, value) -> int:
    if isinstance(value, str):
        raise ValueError(
            f"{name} must be 'valid', 'same' or a number of pixels; got {shown(value)}"
        )
    value = integer(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_budget(what: str, shape: Sequence[int], image_shape: Sequence[int], cause="") -> None:
    """Refuse a float32 array of ``shape`` far larger than the image it is made from.

    The limit is ``BUDGET_FACTOR`` times the image, and never below ``BUDGET_MIN_BYTES``.

    >>> check_budget("the padded image", (40001, 40001), (1, 1))
    Traceback (most recent call last):
    ...
    ValueError: the padded image would be 40001×40001 (6.0 GiB as float32) from a 1×1 image, \
above the limit of 1.0 GiB (4 times the image, at least 1 GiB)
    """
    size = 4 * math.prod(shape)
    limit = max(BUDGET_MIN_BYTES, BUDGET_FACTOR * 4 * math.prod(image_shape))
    if size > limit:
        raise ValueError(
            f"{what} would be {size_text(shape)} ({_bytes(size)} as float32) from a"
            f" {size_text(image_shape)} image, above the limit of {_bytes(limit)}"
            f" ({BUDGET_FACTOR} times the image, at least {_bytes(BUDGET_MIN_BYTES, 0)}){cause}"
        )


def _bytes(count: int, digits: int = 1) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            break
        count /= 1024
    return f"{count:.{digits}f} {unit}" if unit != "bytes" else f"{count} bytes"


def _padded_shape(image_shape: Sequence[int], pads: Pads) -> tuple[int, ...]:
    top, bottom, left, right = pads
    return (image_shape[0] + top + bottom, image_shape[1] + left + right, *image_shape[2:])


def pad(image: np.ndarray, pads: Pads, border: str = "reflect", cval: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of ``image`` by ``(top, bottom, left, right)``.

    A padded image far larger than ``image`` is refused (see :func:`check_budget`).

    >>> pad(np.array([[1.0, 2.0, 3.0]]), (0, 0, 2, 0), "reflect")
    array([[3., 2., 1., 2., 3.]])
    """
    choice("border", border, BORDERS, BORDER_HINTS)
    top, bottom, left, right = pads
    if not any(pads):
        return image
    check_budget(
        "the padded image",
        _padded_shape(image.shape, pads),
        image.shape,
        f": padding {pads} reaches far beyond the image",
    )
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    if border == "constant":
        return np.pad(image, widths, mode="constant", constant_values=number("cval", cval))
    return np.pad(image, widths, mode=border)


@takes(image=False, padding=PADDING, stride=STRIDE, dilation=DILATION)
def output_shape(
    image_shape: Sequence[int],
    kernel_shape: Sequence[int],
    *,
    padding="same",
    stride=1,
    dilation=1,
) -> tuple[int, ...]:
    """Shape of ``convolve``'s result for a 2-D kernel, without computing it.

    >>> output_shape((6, 6), (3, 3), padding="valid")
    (4, 4)
    >>> output_shape((6, 6), (3, 3), padding=1)
    (6, 6)
    >>> output_shape((6, 6), (3, 3), padding="valid", stride=2)
    (2, 2)
    """
    image_shape = shape_tuple("image_shape", image_shape)
    kernel_shape = shape_tuple("kernel_shape", kernel_shape)
    pads = resolve_padding(padding, kernel_shape, dilation)
    return (
        _output_size(
            image_shape, kernel_shape, pads, pair("stride", stride), pair("dilation", dilation)
        )
        + image_shape[2:]
    )


def _output_size(image_shape, kernel_shape, pads, stride, dilation) -> tuple[int, int]:
    top, bottom, left, right = pads
    padded = (image_shape[0] + top + bottom, image_shape[1] + left + right)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_shape[:2], strict=False))
    if span[0] > padded[0] or span[1] > padded[1]:
        k = size_text(kernel_shape[:2])
        if span != tuple(kernel_shape[:2]):
            k += f" (dilated {size_text(span)})"
        raise ValueError(
            f"kernel {k} is larger than the padded image {size_text(padded)}"
            f" (image {size_text(image_shape[:2])}, padding {pads})"
        )
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, span, stride, strict=False))


def _check_span(arguments: dict) -> None:
    """A dilated kernel must fit the largest 'same' padding, whatever the image."""
    kernel, (dy, dx) = arguments["kernel"], arguments["dilation"]
    kh, kw = kernel.shape[:2]
    span = (dy * (kh - 1) + 1, dx * (kw - 1) + 1)
    if max(span) > MAX_SPAN:
        raise ValueError(
            f"kernel {size_text((kh, kw))} at dilation {size_text((dy, dx))} spans"
            f" {size_text(span)} pixels, more than the limit of {MAX_SPAN} (its 'same'"
            f" padding would exceed {MAX_PADDING} per side)"
        )


@takes(
    kernel=Param("kernel"),
    padding=PADDING,
    border=BORDER,
    cval=CVAL,
    stride=STRIDE,
    dilation=DILATION,
    flip=Param("bool"),
    strategy=Param("choice", choices=STRATEGIES),
    also=_check_span,
    reads_bytes=True,
)
def convolve(
    image,
    kernel,
    *,
    padding="same",
    border: str = "reflect",
    cval: float = 0.0,
    stride=1,
    dilation=1,
    flip: bool = False,
    strategy: str | None = None,
) -> np.ndarray:
    """Slide ``kernel`` over ``image`` and take the weighted sum at each position.

    Parameters
    ----------
    image : array (H, W) or (H, W, C)
    kernel : Kernel, KernelBank, catalog name, 2-D or 3-D array, or a list of those (a bank)
        A 2-D kernel filters each channel alike; a 3-D (kh, kw, C) kernel sums over
        the channels into one map; a bank gives one map per kernel, shape (H', W', K).
    padding : "valid", "same", int, (py, px) or (top, bottom, left, right)
    border : constant, reflect, symmetric, edge or wrap (what the padded pixels hold)
    cval : the value of ``constant`` padding
    stride, dilation : int or (y, x)
    flip : rotate the kernel by 180 degrees (true convolution)
    strategy : force "direct", "separable" or "fft" (for testing); None lets the engine pick

    Returns
    -------
    float32 array of shape ``output_shape(...)``

    Examples
    --------
    >>> image = np.zeros((6, 6)); image[3:] = 255
    >>> convolve(image, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], padding="valid")[:, 0]
    array([    0., -1020., -1020.,     0.], dtype=float32)
    """
    weights, is_bank = _as_weights(kernel)
    if flip:
        weights = [np.ascontiguousarray(w[::-1, ::-1]) for w in weights]
    for w in weights:
        _check_depth(w, image, is_bank)
    pads = resolve_padding(padding, weights[0].shape, dilation)
    out_hw = _output_size(image.shape, weights[0].shape, pads, stride, dilation)
    _check_sizes(image.shape, weights, is_bank, pads, out_hw, dilation)
    source = _compute.PaddedSource(image, pads, border, cval)
    maps = [_correlate(source, w, out_hw, stride, dilation, strategy) for w in weights]
    return np.stack(maps, axis=-1) if is_bank else maps[0]


class Footprint(NamedTuple):
    """A window known by its shape alone, for windows too large to build as a matrix
    (a Gaussian of sigma 500 has 4001 taps a side, computed as two 1-D passes)."""

    shape: tuple[int, int]
    strategy: str
    name: str = ""


def plan(
    image_shape: Sequence[int], kernel, *, padding="same", stride=1, dilation=1, **_ignored
) -> Plan:
    """Sizes and strategy ``convolve`` would use, without touching pixels.

    ``kernel`` may be a :class:`Footprint` as well as any kernel ``convolve`` takes.

    >>> plan((5, 5), "gaussian3").strategy
    'separable'
    >>> plan((9000, 9000), Footprint((4001, 4001), "separable")).output_shape
    (9000, 9000)
    """
    if isinstance(kernel, Footprint):
        stride, dilation = pair("stride", stride), pair("dilation", dilation)
        image_shape = shape_tuple("image_shape", image_shape)
        pads = resolve_padding(padding, kernel.shape, dilation)
        out_hw = _output_size(image_shape, kernel.shape, pads, stride, dilation)
        shape = out_hw + image_shape[2:]
        return Plan(image_shape, kernel.shape, pads, stride, dilation, shape, kernel.strategy)
    weights, is_bank = _as_weights(kernel)
    stride = pair("stride", stride)
    dilation = pair("dilation", dilation)
    image_shape = shape_tuple("image_shape", image_shape)
    pads = resolve_padding(padding, weights[0].shape, dilation)
    out_hw = _output_size(image_shape, weights[0].shape, pads, stride, dilation)
    if is_bank:
        out = out_hw + (len(weights),)
    elif weights[0].ndim == 3:
        out = out_hw
    else:
        out = out_hw + image_shape[2:]
    planes = [m for w in weights for m in (np.moveaxis(w, 2, 0) if w.ndim == 3 else [w])]
    strategies = sorted({choose_strategy(m, stride) for m in planes})
    return Plan(image_shape, weights[0].shape, pads, stride, dilation, out, "+".join(strategies))


def choose_strategy(matrix: np.ndarray, stride=(1, 1)) -> str:
    """The one place where the engine picks how to compute a 2-D kernel.

    >>> choose_strategy(np.ones((3, 3)))
    'separable'
    >>> choose_strategy(np.random.default_rng(0).random((15, 15)))
    'fft'
    """
    taps = np.count_nonzero(matrix)
    if separable_factors(matrix) is not None:
        return "separable"
    if taps >= FFT_MIN_TAPS * stride[0] * stride[1]:
        return "fft"
    return "direct"


@takes(reads_bytes=True, border=BORDER, cval=CVAL, stride=STRIDE, dilation=DILATION)
def correlate_separable(
    image, col, row, *, border: str = "reflect", cval: float = 0.0, stride=1, dilation=1
) -> np.ndarray:
    """'same'-size filtering by a vertical 1-D kernel ``col`` then a horizontal ``row``.

    Equal to ``convolve(image, np.outer(col, row), padding="same", ...)`` at a
    fraction of the cost: k + k instead of k * k multiply-adds per pixel.

    >>> correlate_separable(np.eye(3), [1, 1, 1], [1, 1, 1], border="constant")
    array([[2., 2., 1.],
           [2., 3., 2.],
           [1., 2., 2.]], dtype=float32)
    """
    return separable_filter(image, col, row, border, cval, stride, dilation)


def separable_filter(
    image, col, row, border: str, cval: float, stride=(1, 1), dilation=(1, 1)
) -> np.ndarray:
    """:func:`correlate_separable` without its argument checks, for library functions
    that have checked their own (``gaussian``, ``box``): ``image`` float32 or uint8,
    ``stride`` and ``dilation`` (y, x) pairs. One call costs ~0.1 ms less at 256².

    >>> separable_filter(np.eye(2), [1, 1, 1], [1], "constant", 0.0).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    col = np.asarray(col, dtype=np.float64).ravel()
    row = np.asarray(row, dtype=np.float64).ravel()
    pads = resolve_padding("same", (col.size, row.size), dilation)
    out_hw = _output_size(image.shape, (col.size, row.size), pads, stride, dilation)
    # The vertical pass reads whole padded rows of the image's own width.
    rows = (image.shape[0] + pads[0] + pads[1], *image.shape[1:])
    check_budget("the padded rows", rows, image.shape, f": a {col.size}-tap column")
    source = _compute.PaddedSource(image, pads, border, cval)
    return _compute.separable(source, col, row, out_hw, stride, dilation)


# --- arguments -----------------------------------------------------------------------


def _as_weights(kernel) -> tuple[list[np.ndarray], bool]:
    """Kernel argument -> (list of float64 matrices, whether it is a bank)."""
    kernel = as_kernel(kernel)
    if isinstance(kernel, KernelBank):
        return [k.matrix for k in kernel.kernels], True
    assert isinstance(kernel, Kernel)
    return [kernel.matrix], False


def _check_sizes(image_shape, weights, is_bank, pads, out_hw, dilation) -> None:
    """Refuse a padded image or a stack of maps far larger than the image."""
    kh, kw = weights[0].shape[:2]
    span = f"kernel {size_text((kh, kw))}"
    if tuple(dilation) != (1, 1):
        span += f" at dilation {size_text(dilation)}"
    cause = f": padding {pads} for a {span}"
    check_budget("the padded image", _padded_shape(image_shape, pads), image_shape, cause)
    if is_bank:
        out = (*out_hw, len(weights))
    else:
        out = (*out_hw, *image_shape[2:]) if weights[0].ndim == 2 else out_hw
    check_budget("the output", out, image_shape, f" ({len(weights)} kernels)" if is_bank else "")


def _check_depth(weights: np.ndarray, image: np.ndarray, is_bank: bool) -> None:
    channels = image.shape[2] if image.ndim == 3 else 1
    if weights.ndim == 3 and weights.shape[2] != channels:
        raise ValueError(
            f"a 3-D kernel of depth {weights.shape[2]} needs an image with {weights.shape[2]}"
            f" channels, got {channels}"
        )
    if is_bank and weights.ndim == 2 and image.ndim == 3:
        raise ValueError(
            "a bank of 2-D kernels needs a grayscale image: convert with grayscale first,"
            " or use 3-D kernels that sum over the channels"
        )


# --- strategies ------------------------------------------------------------------------


def _correlate(
    source: _compute.PaddedSource, weights, out_hw, stride, dilation, strategy
) -> np.ndarray:
    if weights.ndim == 3:
        total = None
        for c in range(weights.shape[2]):
            plane = np.ascontiguousarray(source.image[..., c])
            channel = _compute.PaddedSource(plane, source.pads, source.border, source.cval)
            result = _correlate(channel, weights[..., c], out_hw, stride, dilation, strategy)
            total = result if total is None else np.add(total, result, out=total)
        return total
    strategy = strategy or choose_strategy(weights, stride)
    if strategy == "separable":
        factors = separable_factors(weights)
        if factors is None:
            raise ValueError("strategy 'separable' needs a rank-1 kernel")
        row = factors.row * factors.scale
        return _compute.separable(source, factors.column, row, out_hw, stride, dilation)
    if strategy == "fft":
        return _compute.fft(source, weights, out_hw, stride, dilation)
    return _compute.direct(source, weights, out_hw, stride, dilation)
