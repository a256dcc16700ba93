""".npy arrays: the header is checked (dtype, shape, pixel guard, size) before any data is read.

The data is then read in pieces of at most :data:`PIECE` bytes, each converted to float32
on its way into the result (or into statistics, for :func:`pieces`), so loading costs
the float32 image and describing costs a few pieces, whatever the file's dtype.

>>> import io, numpy as np
>>> buffer = io.BytesIO()
>>> np.save(buffer, np.array([[1, 2], [3, 4]], dtype=np.uint8))
>>> _ = buffer.seek(0)
>>> found = read_header(buffer, "m.npy")
>>> found.shape, found.dtype, found.channels
((2, 2), dtype('uint8'), 1)
>>> read(buffer, found)
array([[1., 2.],
       [3., 4.]], dtype=float32)
"""

from __future__ import annotations

import math
from typing import BinaryIO, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from imgfilter.errors import ImageFileError

MAGIC = b"\x93NUMPY"
PIECE = 1 << 22  # bytes of file data converted at a time


class Header(NamedTuple):
    """What a .npy header says, with 3-D single-channel arrays taken as 2-D."""

    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    offset: int
    name: str

    @property
    def channels(self) -> int:
        return self.shape[2] if len(self.shape) == 3 else 1

    @property
    def order(self) -> str:
        return "F" if self.fortran else "C"


def read_header(file: BinaryIO, name: str) -> Header:
    """Parse and check the header of the .npy file ``file`` (at its start); no data is read."""
    try:
        version = npy_format.read_magic(file)
        reader = npy_format.read_array_header_1_0
        if version != (1, 0):  # 2.0 and 3.0 share the layout; numeric headers are ASCII
            reader = npy_format.read_array_header_2_0
        shape, fortran, dtype = reader(file)
    except ValueError as exc:  # a bad version, a cut or malformed header, an unknown dtype
        raise ImageFileError(f"{name}: truncated or corrupt .npy header ({exc})") from None
    if dtype.hasobject:
        raise ImageFileError(
            f"{name}: .npy holds Python objects (non-numeric dtype); expected numbers"
        )
    if dtype.kind not in "biuf":
        raise ImageFileError(
            f"{name}: .npy has non-numeric dtype {dtype}; expected integers or floats"
        )
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # the same bytes in either order as (H, W)
    if not (len(shape) == 2 or (len(shape) == 3 and 1 <= shape[2] <= 4)):
        raise ImageFileError(
            f"{name}: .npy array must be 2-D (H, W) or 3-D (H, W, C) with 1-4 channels, "
            f"got shape {shape}"
        )
    if 0 in shape:
        raise ImageFileError(f"{name}: .npy array is empty, shape {shape}")
    return Header(tuple(shape), bool(fortran), dtype, file.tell(), name)


def check_size(header: Header, size: int) -> None:
    """Refuse a file of ``size`` bytes too short for the data its header announces."""
    need, have = math.prod(header.shape) * header.dtype.itemsize, size - header.offset
    if have < need:
        raise ImageFileError(
            f"{header.name}: truncated or corrupt .npy data ({max(have, 0)} of {need} data bytes)"
        )


def read(file: BinaryIO, header: Header) -> np.ndarray:
    """The array as float32 (H, W) or (H, W, C), C-contiguous; booleans become 0 and 255."""
    result = np.empty(header.shape, np.float32, order=header.order)
    flat = result.reshape(-1, order=header.order)  # a view: file order is this order
    for start, values in pieces(file, header):
        flat[start : start + len(values)] = values
    return np.ascontiguousarray(result)


def pieces(file: BinaryIO, header: Header):
    """Yield (index, float32 values) of runs of the data in file order.

    A run holds whole pixels in C order, and a part of one channel's plane in Fortran
    order (``index // (H * W)`` is then its channel).
    """
    dtype, total = header.dtype, math.prod(header.shape)
    step = max(1, PIECE // dtype.itemsize // header.channels) * header.channels
    plane = header.shape[0] * header.shape[1] if header.fortran else total
    buffer = bytearray(step * dtype.itemsize)
    start = 0
    while start < total:
        count = min(step, total - start, plane - start % plane)
        view = memoryview(buffer)[: count * dtype.itemsize]
        _fill(file, view, header.name)
        values = np.frombuffer(view, dtype, count).astype(np.float32)
        if dtype.kind == "b":
            values *= 255
        yield start, values
        start += count


def _fill(file: BinaryIO, view: memoryview, name: str) -> None:
    done = 0
    while done < len(view):
        got = file.readinto(view[done:])
        if not got:
            raise ImageFileError(f"{name}: truncated .npy data (the file shrank while read)")
        done += got
