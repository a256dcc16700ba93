"""8-bit pixels copied out of a decoded Pillow image: whole, or the rows a strip needs.

Pillow holds a decoded image in its own memory (four bytes a pixel for RGB). Copying
it out whole makes a second image; :class:`PillowRows` instead hands the strip runner
the rows and columns of each strip as it reads them, so the file's pixels exist once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

BAND_BYTES = 1 << 22  # pixels copied out of Pillow a band at a time


def copied_in_bands(image: Image.Image) -> np.ndarray:
    """The pixels of a loaded 8-bit image, copied out a band of rows at a time.

    ``np.asarray(image)`` goes through ``tobytes``, which joins the encoded chunks: two
    full copies at once beside Pillow's own (four bytes a pixel); bands make one.

    >>> copied_in_bands(Image.new("RGB", (2, 1), (1, 2, 3))).tolist()
    [[[1, 2, 3], [1, 2, 3]]]
    """
    width, height = image.size
    channels = len(image.getbands())
    pixels = np.empty((height, width, channels) if channels > 1 else (height, width), np.uint8)
    rows = max(1, BAND_BYTES // max(1, width * channels))
    for top in range(0, height, rows):
        pixels[top : top + rows] = _block(image, top, min(height, top + rows), 0, width)
    return pixels


def _block(image: Image.Image, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    return np.asarray(image.crop((left, top, right, bottom)))


class PillowRows:
    """A loaded 8-bit gray ("L") or RGB Pillow image, read like a uint8 array.

    ``rows[a:b]`` and ``rows[a:b, c:d]`` copy just those pixels out of Pillow's memory
    (slices of step 1; anything else reads the whole image first);
    ``np.asarray(rows)`` copies the whole image. The strip runner reads each strip
    and its halo this way, straight from the decoded file.

    >>> rows = PillowRows(Image.new("L", (3, 2), 7))
    >>> rows.shape, rows[1:, :2].tolist()
    ((2, 3), [[7, 7]])
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, image: Image.Image):
        if image.mode not in ("L", "RGB"):
            raise ValueError(f"PillowRows reads L or RGB images, got mode {image.mode!r}")
        width, height = image.size
        self._image = image
        self.shape: tuple[int, ...] = (height, width) if image.mode == "L" else (height, width, 3)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if len(key) <= 2 and all(_unit_slice(k) for k in key):
            height, width = self.shape[:2]
            rows, cols = (*key, slice(None))[:2]
            top, bottom, _ = rows.indices(height)
            left, right, _ = cols.indices(width)
            if bottom > top and right > left:
                return _block(self._image, top, bottom, left, right)
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy is False:
            raise ValueError("PillowRows copies its pixels out of Pillow: copy=False is impossible")
        pixels = copied_in_bands(self._image)
        return pixels if dtype is None else pixels.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]


def _unit_slice(key: Any) -> bool:
    return isinstance(key, slice) and key.step in (None, 1)
