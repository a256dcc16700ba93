""".npy files read and written a band of rows at a time, for images larger than memory.

:class:`RowReader` reads any rows of a C-order ``.npy`` file on demand (``os.pread``,
safe from many threads at once), converting only them to float32; :func:`write_rows`
writes a float32 ``.npy`` file whose rows arrive in any order, through the atomic
writer. Memory is a few bands, not the image: a 30000 × 30000 array filters in the
memory of its strips.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "big.npy")
>>> np.save(path, np.arange(12, dtype=np.uint8).reshape(4, 3))
>>> rows = RowReader(path)
>>> rows.shape, rows[1:3]
((4, 3), array([[3., 4., 5.],
       [6., 7., 8.]], dtype=float32))
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from imgfilter.errors import ImageFileError
from imgfilter.io import _npy
from imgfilter.io._write import put


class _FortranOrder(ImageFileError):
    """A Fortran-order .npy: its rows are not contiguous in the file."""


class RowReader:
    """The rows of a C-order .npy file, as float32 on demand: ``reader[r0:r1, c0:c1]``."""

    def __init__(self, path: str | os.PathLike):
        self.name = os.fspath(path)
        try:
            with open(self.name, "rb") as file:
                header = _npy.read_header(file, self.name)
        except OSError as exc:
            raise ImageFileError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        _npy.check_size(header, os.stat(self.name).st_size)
        if header.fortran:
            raise _FortranOrder(f"{self.name}: a Fortran-order .npy is read whole, not by rows")
        self.header = header
        self.shape, self.dtype = header.shape, np.dtype(np.float32)
        self.ndim = len(self.shape)
        self._row_bytes = math.prod(self.shape[1:]) * header.dtype.itemsize
        self._lock = threading.Lock()
        self.low, self.high, self.between = math.inf, -math.inf, False

    @classmethod
    def open(cls, path: str | os.PathLike) -> RowReader | None:
        """A reader for ``path``, or None for a Fortran-order array (read whole instead)."""
        try:
            return cls(path)
        except _FortranOrder:
            return None

    @property
    def on_unit_scale(self) -> bool:
        """True when the float rows read so far all lie in [0, 1], some of them between."""
        return (
            self.header.dtype.kind == "f"
            and 0 < self.high <= 1
            and self.low >= 0
            and (self.between)
        )

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, columns = key if isinstance(key, tuple) else (key, slice(None))
        first, stop, _ = rows.indices(self.shape[0])
        count = max(0, stop - first)
        with open(self.name, "rb", buffering=0) as file:
            data = os.pread(
                file.fileno(), count * self._row_bytes, self.header.offset + first * self._row_bytes
            )
        if len(data) < count * self._row_bytes:
            raise ImageFileError(f"{self.name}: truncated .npy data (the file shrank while read)")
        values = np.frombuffer(data, self.header.dtype).reshape((count,) + self.shape[1:])
        values = values.astype(np.float32)
        if self.header.dtype.kind == "b":
            values *= 255
        if values.size:
            low, high = float(values.min()), float(values.max())
            between = bool(((values > 0) & (values < 1)).any()) if high <= 1 else False
            with self._lock:
                self.low, self.high = min(self.low, low), max(self.high, high)
                self.between = self.between or between
        return values[:, columns]


def write_rows(path: str, shape: tuple[int, ...], fill: Callable[[Callable], None]) -> None:
    """Write a float32 .npy of ``shape`` at ``path`` atomically; ``fill(put_rows)`` calls
    ``put_rows(r0, rows)`` for every band of rows, in any order, from any thread."""
    header = {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}

    def write(file) -> None:
        npy_format.write_array_header_1_0(file, header)
        file.flush()
        offset = file.tell()
        row_bytes = math.prod(shape[1:]) * 4
        descriptor = file.fileno()
        os.ftruncate(descriptor, offset + shape[0] * row_bytes)

        def put_rows(first: int, rows: np.ndarray) -> None:
            data = np.ascontiguousarray(rows, dtype=np.float32).tobytes()
            done = 0
            while done < len(data):
                done += os.pwrite(descriptor, data[done:], offset + first * row_bytes + done)

        fill(put_rows)

    put(path, write, "NPY")
