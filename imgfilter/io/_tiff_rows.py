"""TIFF and BigTIFF files read and written a band of rows at a time, for huge images.

:class:`TiffRows` reads any rows of a striped or tiled TIFF on demand, decoding only
the strips or tiles they cross (with tifffile) and converting only them to float32
on the 0-255 scale, as :func:`imgfilter.io.load` would give them. Uncompressed files
are read straight from their offsets. :func:`write_tiff_rows` writes an uncompressed,
striped TIFF (BigTIFF past 4 GB) whose rows arrive in any order, from any thread,
through the atomic writer. Memory is a few bands of tiles, not the image.

>>> import numpy as np, os, tempfile, tifffile
>>> path = os.path.join(tempfile.mkdtemp(), "big.tif")
>>> tifffile.imwrite(path, np.arange(12, dtype=np.uint8).reshape(4, 3), rowsperstrip=1)
>>> rows = TiffRows.open(path)
>>> rows.shape, rows[1:3].tolist()
((4, 3), [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from imgfilter.errors import ImageFileError
from imgfilter.io._write import put

STREAM_MIN_PIXELS = 1 << 26
"""TIFFs from this many pixels (67 MP, 8192²) are filtered by rows from the command line."""
BOMB_RATIO = 100
"""Compressed data expanding more than this, past the pixel limit, is refused as a bomb."""
CACHED_BANDS = 8
"""Decoded bands of tiles kept: the halo rows of neighbouring strips share them."""
_DTYPES = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16, np.dtype(np.float32): 32}
_GRAY, _RGB = 1, 2  # photometric interpretations read here


class TiffRows:
    """The rows of the first image of a TIFF, as float32 on demand: ``reader[r0:r1, c0:c1]``.

    Build it with :meth:`open`, which returns None for a TIFF this reader does not
    cover (alpha, palette, planar or 1-bit data, an orientation tag), left to
    :func:`imgfilter.io.load`.
    """

    def __init__(self, name: str, tiff: Any, page: Any):
        self.name, self._tiff, self._page = name, tiff, page
        height, width = page.imagelength, page.imagewidth
        self.shape = (height, width) if page.samplesperpixel == 1 else (height, width, 3)
        self.ndim, self.dtype = len(self.shape), np.dtype(np.float32)
        self.stored = np.dtype(page.dtype).newbyteorder(tiff.byteorder)
        self.bit_depth = _DTYPES[np.dtype(page.dtype)]
        self.band_rows = page.tilelength if page.is_tiled else min(page.rowsperstrip, height)
        self.across = math.ceil(width / page.tilewidth) if page.is_tiled else 1
        self._row_bytes = math.prod(self.shape[1:]) * self.stored.itemsize
        plain = page.is_contiguous and page.predictor == 1 and page.fillorder == 1
        self._offset = int(page.dataoffsets[0]) if plain else None
        self._descriptor = os.open(name, os.O_RDONLY)
        self._lock = threading.Lock()
        self._bands: OrderedDict[int, np.ndarray] = OrderedDict()
        self.low, self.high, self.between = math.inf, -math.inf, False

    @classmethod
    def open(cls, path: str | os.PathLike) -> TiffRows | None:
        """A reader for ``path``, or None when the file is left to the whole-image path.

        Raises ImageFileError for a TIFF that cannot be read at all: truncated, or
        compressed with a codec that is not installed.
        """
        import tifffile

        name = os.fspath(path)
        try:
            tiff = tifffile.TiffFile(name)
        except (OSError, ValueError, tifffile.TiffFileError):
            return None  # not a TIFF tifffile reads: the usual reader says what is wrong
        page = tiff.pages.first
        if not _covered(page) or not _decodable(name, page):
            tiff.close()
            return None
        reader = cls(name, tiff, page)
        try:
            reader._check()
        except BaseException:
            reader.close()
            raise
        return reader

    def _check(self) -> None:
        page, size = self._page, os.fstat(self._descriptor).st_size
        ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=True)]
        if not ends or max(ends) > size or 0 in page.databytecounts:
            raise ImageFileError(f"{self.name}: truncated TIFF (its tiles run past the end)")
        if self._offset is None:
            self._band(0)  # a tile that does not decode shows here, before any is written
            from imgfilter.io import _guard

            stored = sum(page.databytecounts)
            limit = _guard.max_pixels()
            pixels = self.shape[0] * self.shape[1]
            if limit and pixels > limit and self._row_bytes * self.shape[0] > BOMB_RATIO * stored:
                raise ImageFileError(
                    f"{self.name}: {pixels} pixels from {stored} bytes of compressed data "
                    f"(over the limit of {limit}); --max-pixels raises the limit"
                )

    def close(self) -> None:
        """Release the file."""
        self._tiff.close()
        os.close(self._descriptor)

    @property
    def on_unit_scale(self) -> bool:
        """True when the float rows read so far all lie in [0, 1], some of them between."""
        return self.bit_depth == 32 and 0 < self.high <= 1 and self.low >= 0 and self.between

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, columns = key if isinstance(key, tuple) else (key, slice(None))
        first, stop, _ = rows.indices(self.shape[0])
        stop = max(first, stop)
        if self._offset is not None:
            stored = self._read_rows(first, stop)
        else:
            bands = range(first // self.band_rows, -(-stop // self.band_rows))
            pieces = [self._band(b) for b in bands]
            start = first - bands.start * self.band_rows if bands else 0
            whole = np.concatenate(pieces) if pieces else np.empty((0,) + self.shape[1:])
            stored = whole[start : start + stop - first]
        values = stored[:, columns].astype(np.float32)
        if self.bit_depth == 16:
            values /= 257
        elif self.bit_depth == 32:
            self._note_range(values)
        return values

    def _read_rows(self, first: int, stop: int) -> np.ndarray:
        count = (stop - first) * self._row_bytes
        data = os.pread(self._descriptor, count, self._offset + first * self._row_bytes)
        if len(data) < count:
            raise ImageFileError(f"{self.name}: truncated TIFF (the file shrank while read)")
        return np.frombuffer(data, self.stored).reshape((stop - first,) + self.shape[1:])

    def _band(self, number: int) -> np.ndarray:
        """Rows ``number * band_rows`` on of the image, decoded (a row of tiles, or a strip)."""
        with self._lock:
            if number in self._bands:
                self._bands.move_to_end(number)
                return self._bands[number]
        page = self._page
        top = number * self.band_rows
        rows = min(self.band_rows, self.shape[0] - top)
        band = np.empty((rows,) + self.shape[1:], dtype=self.stored.newbyteorder("="))
        for index in range(number * self.across, (number + 1) * self.across):
            offset, count = page.dataoffsets[index], page.databytecounts[index]
            data = os.pread(self._descriptor, count, offset)
            try:
                segment, where, _ = page.decode(data, index, jpegtables=page.jpegtables)
            except Exception as exc:  # noqa: BLE001 - codecs raise many kinds
                raise ImageFileError(f"{self.name}: {_codec_problem(page, exc)}") from None
            if segment is None:
                raise ImageFileError(f"{self.name}: a TIFF tile could not be decoded")
            left = where[3]
            tile = segment.reshape(segment.shape[1:3] + self.shape[2:])
            width = min(tile.shape[1], self.shape[1] - left)
            band[:, left : left + width] = tile[:rows, :width]
        with self._lock:
            self._bands[number] = band
            while len(self._bands) > CACHED_BANDS:
                self._bands.popitem(last=False)
        return band

    def _note_range(self, values: np.ndarray) -> None:
        if not values.size:
            return
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        between = bool(((values > 0) & (values < 1)).any()) if high <= 1 else False
        with self._lock:
            self.low, self.high = min(self.low, low), max(self.high, high)
            self.between = self.between or between


def _covered(page) -> bool:
    if np.dtype(page.dtype) not in _DTYPES or page.extrasamples:
        return False
    if page.imagedepth != 1 or page.samplesperpixel not in (1, 3):
        return False
    if page.samplesperpixel == 3 and (page.planarconfig != 1 or page.photometric != _RGB):
        return False
    if page.samplesperpixel == 1 and page.photometric != _GRAY:
        return False
    orientation = page.tags.get(274)
    return orientation is None or orientation.value == 1


def _decodable(name: str, page) -> bool:
    """True when tifffile has the page's codec; False to read it whole instead (Pillow's
    libtiff has more codecs) where the pixel limit allows, else an ImageFileError."""
    import tifffile

    from imgfilter.io import _guard

    if page.compression == 1:
        return True
    try:
        tifffile.TIFF.DECOMPRESSORS[page.compression]
        return True
    except KeyError:
        limit = _guard.max_pixels()
        if limit is None or page.imagelength * page.imagewidth <= limit:
            return False
    codec = getattr(page.compression, "name", str(page.compression))
    raise ImageFileError(
        f"{name}: TIFF compression {codec} needs the imagecodecs package to be read by "
        "tiles (pip install imagecodecs)"
    )


def _codec_problem(page, exc: Exception) -> str:
    codec = getattr(page.compression, "name", str(page.compression))
    text = str(exc)
    if "imagecodecs" in text or isinstance(exc, (ImportError, KeyError, NotImplementedError)):
        return f"TIFF compression {codec} needs the imagecodecs package (pip install imagecodecs)"
    return f"a TIFF tile compressed with {codec} could not be decoded: {text}"


class _Named(io.RawIOBase):
    """A binary file under another name: tifffile wants a text name for its handle."""

    def __init__(self, file, name: str):
        super().__init__()
        self._file, self.name = file, name

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._file.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()


def write_tiff_rows(
    path: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    fill: Callable[[Callable], None],
    dpi: tuple[float, float] | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Write an uncompressed striped TIFF of ``shape`` and ``dtype`` (uint8, uint16 or
    float32) at ``path`` atomically; ``fill(put_rows)`` calls ``put_rows(r0, rows)`` for
    every band of rows, in any order, from any thread. BigTIFF past 4 GB."""
    import tifffile

    dtype = np.dtype(dtype)
    row_bytes = math.prod(shape[1:]) * dtype.itemsize
    options: dict[str, Any] = {
        "photometric": "rgb" if len(shape) == 3 else "minisblack",
        "rowsperstrip": max(1, (1 << 20) // row_bytes),
        "bigtiff": row_bytes * shape[0] > (1 << 32) - (1 << 26),
        "byteorder": "<",
    }
    if dpi:
        options.update(resolution=tuple(dpi), resolutionunit="INCH")
    if icc_profile:
        options["iccprofile"] = icc_profile

    def write(file) -> None:
        named = _Named(file, path)  # an unnamed file's name is its descriptor number
        placed = tifffile.imwrite(
            named, shape=tuple(shape), dtype=dtype, returnoffset=True, **options
        )
        file.flush()
        offset = int(placed[0])
        descriptor = file.fileno()

        def put_rows(first: int, rows: np.ndarray) -> None:
            data = np.ascontiguousarray(rows, dtype=dtype.newbyteorder("<")).tobytes()
            done = 0
            while done < len(data):
                done += os.pwrite(descriptor, data[done:], offset + first * row_bytes + done)

        fill(put_rows)

    put(path, write, "TIFF")
