"""Pooling: the maximum, average or minimum over windows slid with a stride, per channel.

With the compiled kernels (``imgfilter._native``, ``_pool``) windowed pooling runs
band by band over the output rows, reading the padding through index tables
instead of a padded copy; the result is the same bit for bit. Global pooling is numpy.

The seeds' example, 2×2 windows with stride 2:

>>> import numpy as np
>>> x = np.array([[3, 2, 0, 0], [0, 7, 1, 3], [5, 2, 3, 0], [0, 9, 2, 3]])
>>> pool(x, 2, mode="max")
array([[7., 3.],
       [9., 3.]], dtype=float32)
>>> pool(x, 2, mode="avg")
array([[3., 1.],
       [4., 2.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imgfilter import _native, engine
from imgfilter._checks import size_text
from imgfilter.choices import POOL_MODE_ALIASES, POOL_MODES
from imgfilter.ops.filters import WINDOW
from imgfilter.params import Param, takes

_REDUCE = {"max": np.maximum, "avg": np.add, "min": np.minimum}
_GLOBAL = {
    "max": lambda image: image.max(axis=(0, 1)),
    "avg": lambda image: image.mean(axis=(0, 1), dtype=np.float64),
    "min": lambda image: image.min(axis=(0, 1)),
}


def _check_global(arguments: dict) -> None:
    if arguments["size"] == "global" and (
        arguments["stride"] is not None or arguments["padding"] != "valid"
    ):
        raise ValueError("global pooling takes no stride or padding: it pools the whole image")


@takes(
    size=replace(WINDOW, words=("global",)),
    stride=engine.STRIDE,
    mode=Param("choice", choices=POOL_MODES, aliases=POOL_MODE_ALIASES),
    padding=engine.PADDING,
    border=engine.BORDER,
    cval=engine.CVAL,
    also=_check_global,
)
def pool(
    image,
    size=2,
    stride=None,
    mode: str = "max",
    *,
    padding="valid",
    border: str = "edge",
    cval: float = 0.0,
) -> np.ndarray:
    """Pool ``image`` over ``size`` windows moved by ``stride``; each channel on its own.

    Parameters
    ----------
    image : array (H, W) or (H, W, C)
    size : int, (h, w) or "global"
        The window. ``"global"`` pools the whole image: one value per channel,
        returned as a 1-D array of length C (1 for a grayscale image).
    stride : int or (sy, sx), optional
        Step between windows; defaults to the window size (no overlap).
    mode : ``max``, ``avg`` (the mean; ``average`` and ``mean`` name it too) or ``min``
    padding : "valid", "same", int, (py, px) or (top, bottom, left, right)
        As in ``convolve``; with ``same`` the output is ceil(N / stride) per axis.
    border : constant, reflect, symmetric, edge or wrap
        What padded pixels hold. The default ``edge`` repeats the nearest pixel,
        which is already in every window that reaches the padding, so ``max``
        and ``min`` are the same as ignoring the padding.
    cval : the value of ``constant`` padding

    Returns
    -------
    float32 array (H', W') or (H', W', C), H' = floor((H + pads - h) / sy) + 1

    Examples
    --------
    >>> pool(np.arange(9.0).reshape(3, 3), 2, stride=1, mode="min")
    array([[0., 1.],
           [3., 4.]], dtype=float32)
    >>> pool(np.arange(9.0).reshape(3, 3), "global", mode="avg")
    array([4.], dtype=float32)
    """
    if size == "global":
        values = _GLOBAL[mode](image)
        return np.atleast_1d(values).astype(np.float32)
    window = size
    steps = window if stride is None else stride
    pads = engine.resolve_padding(padding, window)
    padded_hw = (image.shape[0] + pads[0] + pads[1], image.shape[1] + pads[2] + pads[3])
    if window[0] > padded_hw[0] or window[1] > padded_hw[1]:
        raise ValueError(
            f"pool window {size_text(window)} is larger than the padded image "
            f"{size_text(padded_hw)} (image {size_text(image.shape[:2])}, padding {pads})"
        )
    out_hw = tuple((n - k) // s + 1 for n, k, s in zip(padded_hw, window, steps, strict=True))
    compiled = _native.module("_pool")
    if compiled is not None:
        return _compiled_pool(compiled, image, window, steps, pads, border, cval, out_hw, mode)
    padded = engine.pad(image, pads, border, cval)
    # max, min and mean all reduce one axis at a time: rows first, then columns.
    reduce = _REDUCE[mode]
    rows = _reduce_axis(padded, window[0], steps[0], out_hw[0], 0, reduce)
    out = _reduce_axis(rows, window[1], steps[1], out_hw[1], 1, reduce)
    if mode == "avg":
        out /= np.float32(window[0] * window[1])
    return out


def _reduce_axis(array, k: int, step: int, count: int, axis: int, reduce) -> np.ndarray:
    """out[i] = reduce of array[i*step + j] over j < k, along ``axis``."""

    def window_row(j: int) -> np.ndarray:
        index = [slice(None)] * array.ndim
        index[axis] = slice(j, j + step * (count - 1) + 1, step)
        return array[tuple(index)]

    out = np.array(window_row(0), dtype=np.float32)
    for j in range(1, k):
        reduce(out, window_row(j), out=out)
    return out


def _compiled_pool(compiled, image, window, steps, pads, border, cval, out_hw, mode):
    """:func:`pool` by the compiled kernel, band by band over the output rows."""
    top, bottom, left, right = pads
    height, width = image.shape[:2]
    if any(pads):  # the same refusal as engine.pad, though no padded copy is made
        padded_shape = (height + top + bottom, width + left + right, *image.shape[2:])
        engine.check_budget(
            "the padded image",
            padded_shape,
            image.shape,
            f": padding {pads} reaches far beyond the image",
        )
    pixels = image if image.ndim == 3 else image[:, :, None]
    if pixels.strides[2] != pixels.itemsize or pixels.strides[1] != pixels.shape[2] * 4:
        pixels = np.ascontiguousarray(pixels)
    out = np.empty((*out_hw, pixels.shape[2]), dtype=np.float32)
    rows = engine.pad_index(height, top, bottom, border)
    cols = engine.pad_index(width, left, right, border)
    with np.errstate(over="ignore"):  # as np.pad casts it into float32
        value = np.float32(cval)

    def run(o0: int, o1: int) -> None:
        compiled.rows(pixels, rows, cols, left, value, *window, *steps, mode, out, o0, o1)

    engine.in_bands(out_hw[0], pixels[0].nbytes * steps[0], run)
    return out if image.ndim == 3 else out[:, :, 0]
