"""Binary PPM (P6) with more than 8 bits per sample: Pillow reduces it to 8 bits.

>>> data = b"P6\\n# one pixel\\n1 1\\n65535\\n" + bytes([0, 0, 1, 0, 255, 255])
>>> header(data)
(1, 1, 65535, 25)
>>> decode(data).tolist()
[[[0, 256, 65535]]]
"""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n?)*(\d+)")


def header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, maxval, offset of the pixels) of a P6 file with maxval > 255, else None."""
    if data[:2] != b"P6":
        return None
    values, pos = [], 2
    for _ in range(3):
        match = _TOKEN.match(data, pos)
        if match is None:
            return None
        values.append(int(match.group(1)))
        pos = match.end()
    width, height, maxval = values
    if not 255 < maxval < 65536:
        return None
    return width, height, maxval, pos + 1  # one whitespace byte ends the header


def decode(data: bytes) -> np.ndarray:
    """Decode a 16-bit P6 file to uint16 (H, W, 3), rescaled so that maxval becomes 65535."""
    width, height, maxval, offset = header(data)
    size = width * height * 3
    if len(data) < offset + 2 * size:
        raise ValueError(f"truncated PPM data ({len(data) - offset} of {2 * size} pixel bytes)")
    samples = np.frombuffer(data, ">u2", size, offset).reshape(height, width, 3)
    if maxval == 65535:
        return samples.astype(np.uint16)
    return np.rint(np.minimum(samples, maxval) * (65535 / maxval)).astype(np.uint16)
