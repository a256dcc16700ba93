"""Map float results into the 0-255 range of an 8-bit image.

Modes: ``clip`` clamps to [0, 255]; ``minmax`` stretches min->0 and max->255
(a flat image maps to 0); ``abs`` takes |x| then clamps, for signed edge
responses; ``none`` returns the values unchanged (for .npy or float TIFF).

>>> import numpy as np
>>> rescale(np.array([[0.0, -1020.0], [-1020.0, 0.0]]), "minmax")
array([[255.,   0.],
       [  0., 255.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from imgfilter._checks import choice

RESCALE_MODES = ("clip", "minmax", "abs", "none")


def rescale(image: np.ndarray, mode: str = "clip", *, per_channel: bool = False) -> np.ndarray:
    """Return ``image`` mapped into [0, 255] by ``mode``, as float32.

    Parameters
    ----------
    image : array (H, W) or (H, W, C)
    mode : one of ``clip``, ``minmax``, ``abs``, ``none``
    per_channel : with ``minmax``, stretch each channel on its own instead of globally.
    """
    choice("mode", mode, RESCALE_MODES)
    image = np.asarray(image, dtype=np.float32)
    if mode == "none":
        return image
    if mode == "clip":
        return np.clip(image, 0.0, 255.0)
    if mode == "abs":
        return np.clip(np.abs(image), 0.0, 255.0)
    axes = (0, 1) if per_channel and image.ndim == 3 else None
    low = np.nanmin(image, axis=axes, keepdims=True)
    span = np.nanmax(image, axis=axes, keepdims=True) - low
    # Work in float64 so -1020 / 1020 * 255 lands exactly on integers.
    scale = np.divide(255.0, span, out=np.zeros_like(span, dtype=np.float64), where=span > 0)
    return ((image - low) * scale).astype(np.float32)
