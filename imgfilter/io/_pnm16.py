"""Binary PPM (P6) with more than 8 bits per sample: Pillow reduces it to 8 bits.

The header is read as the Netpbm spec and libnetpbm read it, in one pass over its bytes:
"P6", then width, height and maxval as decimal numbers, each after whitespace (blanks,
tabs, CR, LF, and VT/FF as C's isspace) and comments (``#`` through the next CR or LF,
which also ends a number), then one whitespace byte before the pixels.

>>> data = b"P6\\n# one pixel\\n1 1\\n65535\\n" + bytes([0, 0, 1, 0, 255, 255])
>>> header(data)
(1, 1, 65535, 25)
>>> decode(data).tolist()
[[[0, 256, 65535]]]
"""

from __future__ import annotations

import numpy as np

_SPACE = frozenset(b" \t\n\v\f\r")
_DIGITS = frozenset(b"0123456789")
_LINE_END = frozenset(b"\r\n")
# Longer numbers than this are no 16-bit image Pillow or libnetpbm would read either.
_MAX_DIGITS = 10
_BAND = 1 << 20  # samples rescaled at a time when maxval < 65535


def header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, maxval, offset of the pixels) of a P6 file with maxval > 255, else None.

    None also for a header that is cut short or malformed (so ``data`` may be the first
    bytes of a file): Pillow then reads the file and reports the problem in its words.

    >>> header(b"P6 #c\\r2 1 #c\\n300 \\0\\0")
    (2, 1, 300, 17)
    >>> header(b"P6 1 1 255\\n\\0\\0\\0") is None
    True
    """
    if data[:2] != b"P6":
        return None
    values, pos = [], 2
    for _ in range(3):
        pos = _skip_space_and_comments(data, pos)
        start = pos
        while pos < len(data) and data[pos] in _DIGITS and pos - start <= _MAX_DIGITS:
            pos += 1
        if pos == start or pos - start > _MAX_DIGITS:
            return None
        values.append(int(data[start:pos]))
    width, height, maxval = values
    if not 255 < maxval < 65536:
        return None
    if pos < len(data) and data[pos] == ord("#"):  # a comment's CR or LF ends the header
        pos = _end_of_comment(data, pos)
    if pos >= len(data) or data[pos] not in _SPACE:
        return None  # cut short (maybe inside maxval), or no whitespace before the pixels
    return width, height, maxval, pos + 1


def _skip_space_and_comments(data: bytes, pos: int) -> int:
    while pos < len(data):
        if data[pos] in _SPACE:
            pos += 1
        elif data[pos] == ord("#"):
            pos = _end_of_comment(data, pos)
        else:
            break
    return pos


def _end_of_comment(data: bytes, pos: int) -> int:
    """Index of the CR or LF ending the comment at ``pos`` (or the end of the data)."""
    while pos < len(data) and data[pos] not in _LINE_END:
        pos += 1
    return pos


def decode(data: bytes) -> np.ndarray:
    """Decode a 16-bit P6 file to uint16 (H, W, 3), rescaled so that maxval becomes 65535."""
    width, height, maxval, offset = header(data)
    size = width * height * 3
    if len(data) < offset + 2 * size:
        raise ValueError(f"truncated PPM data ({len(data) - offset} of {2 * size} pixel bytes)")
    samples = np.frombuffer(data, ">u2", size, offset)
    if maxval == 65535:
        return samples.astype(np.uint16).reshape(height, width, 3)
    pixels = np.empty(size, np.uint16)
    for start in range(0, size, _BAND):  # bands keep the float64 arithmetic small
        band = np.minimum(samples[start : start + _BAND], maxval) * (65535 / maxval)
        pixels[start : start + _BAND] = np.rint(band)
    return pixels.reshape(height, width, 3)
