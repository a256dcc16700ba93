"""The image model: alpha set aside and put back, and floats mapped into 0-255.

An image is a float32 array (H, W) or (H, W, C) on the 8-bit scale 0-255; with 2 or 4
channels the last one is alpha. :func:`rescale` maps float results into 0-255 by one
of the modes in :data:`imgfilter.choices.RESCALE_MODES`: ``clip`` clamps to [0, 255];
``minmax`` stretches min->0 and max->255 (a flat image maps to 0); ``abs`` takes |x|
then clamps, for signed edge responses; ``none`` returns the values unchanged.

>>> import numpy as np
>>> rescale(np.array([[0.0, -1020.0], [-1020.0, 0.0]]), "minmax")
array([[255.,   0.],
       [  0., 255.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from imgfilter.choices import RESCALE_MODES
from imgfilter.params import Param, takes


@takes(mode=Param("choice", choices=RESCALE_MODES), per_channel=Param("bool"))
def rescale(image: np.ndarray, mode: str = "clip", *, per_channel: bool = False) -> np.ndarray:
    """Return ``image`` mapped into [0, 255] by ``mode``, as float32.

    Parameters
    ----------
    image : array (H, W) or (H, W, C)
    mode : one of ``clip``, ``minmax``, ``abs``, ``none``
    per_channel : with ``minmax``, stretch each channel on its own instead of globally.
    """
    if mode == "none":
        return image
    if mode == "clip":
        return np.clip(image, 0.0, 255.0)
    if mode == "abs":
        return np.clip(np.abs(image), 0.0, 255.0)
    axes = (0, 1) if per_channel and image.ndim == 3 else None
    low = np.nanmin(image, axis=axes, keepdims=True)
    return stretch(image, low, np.nanmax(image, axis=axes, keepdims=True))


def stretch(image: np.ndarray, low, high) -> np.ndarray:
    """Min-max with the statistics given: ``low`` -> 0 and ``high`` -> 255 (a flat image,
    ``low == high``, maps to 0). The one formula of ``rescale(mode="minmax")``, for
    runners that gather the statistics in a first pass over strips or chunks.

    >>> stretch(np.array([[-1020.0, 0.0]], np.float32), np.float32(-1020), np.float32(0))
    array([[  0., 255.]], dtype=float32)
    """
    span = np.asarray(high - low)
    # Work in float64 so -1020 / 1020 * 255 lands exactly on integers.
    scale = np.divide(255.0, span, out=np.zeros_like(span, dtype=np.float64), where=span > 0)
    return ((image - low) * scale).astype(np.float32)


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split off the alpha channel (the last channel of a 2- or 4-channel image).

    >>> colour, alpha = split_alpha(np.zeros((2, 3, 4)))
    >>> colour.shape, alpha.shape
    ((2, 3, 3), (2, 3))
    >>> split_alpha(np.zeros((2, 3)))[1] is None
    True
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        return image, None
    colour = image[..., 0] if image.shape[2] == 2 else image[..., :3]
    return np.ascontiguousarray(colour), np.ascontiguousarray(image[..., -1])


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Put an alpha channel (H, W) back after gray (H, W) or RGB (H, W, 3) colour.

    >>> join_alpha(np.zeros((2, 3)), np.ones((2, 3))).shape
    (2, 3, 2)
    """
    colour = np.asarray(colour)
    if alpha is None:
        return colour
    alpha = np.asarray(alpha)
    gray = colour.ndim == 2 or (colour.ndim == 3 and colour.shape[2] == 1)
    if not (gray or (colour.ndim == 3 and colour.shape[2] == 3)):
        raise ValueError(f"alpha joins a gray or RGB image only, got colour shape {colour.shape}")
    if alpha.shape != colour.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match the image's {colour.shape[:2]}")
    colour = colour.reshape(*colour.shape[:2], -1)
    return np.concatenate([colour, alpha[..., None]], axis=2).astype(np.float32, copy=False)


class Scaled16:
    """A uint16 image seen on the 0-255 scale a block at a time, as loading would give it.

    Strips read through it are converted on their own, so a 16-bit image is never held
    as float32 whole; each block equals the same rows of ``pixels / 257`` in float32.

    >>> Scaled16(np.array([[0, 257, 65535]], dtype=np.uint16))[:, 1:].tolist()
    [[1.0, 255.0]]
    """

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self.shape, self.ndim, self.dtype = pixels.shape, pixels.ndim, np.dtype(np.float32)

    def __getitem__(self, key) -> np.ndarray:
        block = self.pixels[key].astype(np.float32)
        block /= 257
        return block
