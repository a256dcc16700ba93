"""16-bit colour TIFF at full precision: Pillow reads 48/64-bit colour as 8-bit and cannot write it.

Reading lets Pillow (and libtiff) parse and decompress the file, so every compression and
predictor they know works: the pixel data is unpacked twice, first with the file's own
16-bit unpacker (the high bytes), then with the opposite byte order (the low bytes).
Writing is an uncompressed little-endian TIFF, one IFD (Pillow's), chunky samples, strips.

>>> import io, numpy as np
>>> from PIL import Image
>>> pixels = np.array([[[0, 1, 65535]]], dtype=np.uint16)
>>> decode(Image.open(io.BytesIO(encode(pixels))), encode(pixels)).tolist()
[[[0, 1, 65535]]]
"""

from __future__ import annotations

import io
import struct
import sys
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

_NATIVE = "L" if sys.byteorder == "little" else "B"
# Unpackers of 16-bit colour samples that Pillow uses for TIFF (L/B: file order, N: native).
RAWMODES = {f"{m};16{o}" for m in ("RGB", "RGBA", "RGBX") for o in "LBN"}
STRIP_BYTES = 1 << 16


def _rawmode(tile) -> str:
    args = tile[3]
    return args if isinstance(args, str) else args[0]


def applies(image: Image.Image) -> bool:
    """True if Pillow would read ``image`` (freshly opened, not loaded) at 8 bits per sample."""
    return bool(image.tile) and all(_rawmode(tile) in RAWMODES for tile in image.tile)


def _low_byte_tile(tile):
    rawmode = _rawmode(tile)
    order = rawmode[-1].replace("N", _NATIVE)
    swapped = rawmode[:-1] + ("B" if order == "L" else "L")
    args = tile[3]
    args = swapped if isinstance(args, str) else (swapped, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=args)
    return (tile[0], tile[1], tile[2], args)


def decode(image: Image.Image, data: bytes | BinaryIO) -> np.ndarray:
    """Decode an opened 16-bit RGB(A) TIFF (``applies(image)``) to uint16 (H, W, C).

    ``data`` is the file's bytes, or the seekable binary file ``image`` was opened from.
    """
    pixels = np.asarray(image).astype(np.uint16)
    pixels <<= 8  # in place: the result is the only full-size uint16 array
    if isinstance(data, bytes):
        data = io.BytesIO(data)
    data.seek(0)
    again = Image.open(data, formats=["TIFF"])
    again.tile = [_low_byte_tile(tile) for tile in again.tile]
    pixels |= np.asarray(again)
    return pixels


def encode(pixels: np.ndarray, tags: dict[int, Any] | None = None) -> bytes:
    """Encode uint16 (H, W, 3) or (H, W, 4) pixels as an uncompressed 16-bit TIFF (alpha last).

    ``tags`` (number -> value, as Pillow's TIFF tags) are added: profile, resolution, EXIF.
    """
    from PIL import TiffImagePlugin, TiffTags  # 8 ms of imports that only TIFFs need

    height, width, channels = pixels.shape
    row = width * channels * 2
    rows_per_strip = max(1, STRIP_BYTES // row)
    strips = range(0, height, rows_per_strip)
    directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag, value in (tags or {}).items():
        directory[tag] = value
    layout = {
        256: width,
        257: height,
        258: (16,) * channels,
        259: 1,  # no compression
        262: 2,  # RGB
        273: tuple(start * row for start in strips),  # Pillow adds where the pixels start
        277: channels,
        278: rows_per_strip,
        279: tuple(min(rows_per_strip, height - start) * row for start in strips),
        284: 1,  # chunky: RGBRGB...
        339: (1,) * channels,  # unsigned integers
    }
    if channels == 4:
        layout[338] = 2  # the extra sample is unassociated alpha
    for tag, value in layout.items():
        directory[tag] = value
        directory.tagtype[tag] = TiffTags.LONG if tag in (256, 257, 273, 278, 279) else 3
    data = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return b"II*\0" + struct.pack("<I", 8) + directory.tobytes(8) + data
