"""The engine's arithmetic: padded sources, the three strategies, and banded threading.

Nothing here validates arguments; ``imgfilter.engine`` does that and calls in.
The direct and separable strategies run band by band over the output rows:
each band reads only the padded rows it needs (views of the image where no
padding is involved), so no padded copy of the whole image is ever made, the
working set stays in the cache, and the bands run on every core.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from imgfilter import _native
from imgfilter.params import inside_library

# Output bytes per band: a band's accumulator stays in the cache while the taps run.
TILE_BYTES = 1 << 20
# Output bytes per band of the compiled direct loop, which runs row by row and so needs
# no band in the cache: larger bands cost less Python between them. Measured (3×3 on
# 4096² and 1024² RGB, 2 threads): 1 MiB 29.8 / 1.98 ms, 4 MiB 25.7 / 1.81 ms,
# 16 MiB 25.5 / 2.56 ms.
COMPILED_BAND_BYTES = 4 << 20
# Side of the FFT strategy's tiles (samples): transforms of this size stay in the cache.
FFT_TILE = 512
# A column stride of interleaved channels sums every column first up to this many taps
# × (stride - 1), in both engines alike (see accumulate). Its time / the phases' (2048²
# RGB, strides 2-4): compiled 3×3 0.30-0.43, 5×5 0.51; numpy 0.74-1.04; numpy on gray 1.1-1.9.
EVERY_COLUMN_TAPS = 32
# Results smaller than this are computed in one thread.
PARALLEL_MIN_BYTES = 1 << 20

Taps = list[tuple[int, int, float]]


def pad_index(n: int, before: int, after: int, border: str, dtype=np.int64) -> np.ndarray:
    """Which of ``n`` rows (or columns) each padded one copies, as ``numpy.pad`` fills
    it with ``border``; -1 where the constant goes.

    >>> pad_index(3, 2, 1, "reflect").tolist(), pad_index(2, 1, 1, "constant").tolist()
    ([2, 1, 0, 1, 2, 1], [-1, 0, 1, -1])
    """
    return _shared_pad_index(n, before, after, border, dtype).copy()


@lru_cache(maxsize=64)
def _shared_pad_index(n: int, before: int, after: int, border: str, dtype) -> np.ndarray:
    """:func:`pad_index`, computed once per shape and shared read-only: every strip of a
    pipeline pads the same sizes, and ``numpy.pad`` costs ~20 µs a call."""
    positions = np.arange(n, dtype=dtype)
    if border == "constant":
        index = np.pad(positions, (before, after), constant_values=-1)
    else:
        index = np.pad(positions, (before, after), mode=border)
    index.flags.writeable = False
    return index


class PaddedSource:
    """An image seen through its padding, without building the padded copy.

    ``rows(p0, p1)`` returns padded rows ``p0..p1`` (padded coordinates); where
    they are plain image rows and no column padding is asked for, it is a view.
    The image is float32, or uint8 for the compiled tap loop to read as it is; rows
    that are copied (padding) come out float32, and the numpy loop converts views.

    >>> source = PaddedSource(np.arange(3.0)[None, :], (1, 1, 2, 0), "reflect", 0.0)
    >>> source.rows(0, 3).tolist()
    [[2.0, 1.0, 0.0, 1.0, 2.0], [2.0, 1.0, 0.0, 1.0, 2.0], [2.0, 1.0, 0.0, 1.0, 2.0]]
    """

    def __init__(self, image: np.ndarray, pads, border: str, cval: float):
        self.image, self.pads, self.border, self.cval = image, pads, border, np.float32(cval)
        top, bottom, left, right = pads
        height, width = image.shape[:2]
        self.shape = (height + top + bottom, width + left + right) + image.shape[2:]
        self.row_index = self._index(height, top, bottom)
        self.col_index = self._index(width, left, right)

    def _index(self, n: int, before: int, after: int) -> np.ndarray:
        return _shared_pad_index(n, before, after, self.border, np.int64)

    def rows(self, p0: int, p1: int, columns: bool = True) -> np.ndarray:
        """Padded rows ``p0..p1``; with ``columns=False`` only the image's own columns."""
        index = self.row_index[p0:p1]
        left, right = self.pads[2:]
        if not columns or not (left or right):
            return self._take_rows(index)
        out = np.empty((index.size,) + self.shape[1:], dtype=np.float32)
        self._take_rows(index, out[:, left : left + self.image.shape[1]])
        self.fill_columns(out)
        return out

    def window(self, p0: int, p1: int, c0: int, c1: int) -> np.ndarray:
        """Padded rows ``p0..p1`` × padded columns ``c0..c1``, as a float32 copy (a narrow
        one: the direct strategy takes the rows and columns near the edges this way)."""
        rows, cols = self.row_index[p0:p1], self.col_index[c0:c1]
        height, width = self.image.shape[:2]
        # the shorter cut first: a few full rows, or a few full-height columns
        if rows.size * width <= cols.size * height:
            part = np.take(self.image, np.maximum(rows, 0), axis=0)
            out = np.take(part, np.maximum(cols, 0), axis=1).astype(np.float32, copy=False)
        else:
            part = np.take(self.image, np.maximum(cols, 0), axis=1)
            out = np.take(part, np.maximum(rows, 0), axis=0).astype(np.float32, copy=False)
        if self.border == "constant":
            out[:, cols < 0] = self.cval
            out[rows < 0] = self.cval
        return out

    def fill_columns(self, block: np.ndarray, constant=None) -> None:
        """Write the left and right padding columns of ``block`` from its image columns.

        ``constant`` overrides the value of constant padding (the vertical pass of
        a separable kernel scales it by the column weights' sum).
        """
        left, right = self.pads[2:]
        for part, source in _column_fills(self.image.shape[1], left, right, self.border):
            if source is None:
                block[:, part] = self.cval if constant is None else constant
            else:  # through a copy: numpy's overlap test of two views of one block is slow
                block[:, part] = block[:, source].copy()

    def _take_rows(self, index: np.ndarray, out=None) -> np.ndarray:
        """Image rows ``index`` (-1: the constant): a view where they are consecutive,
        else a copy; into ``out`` when given (a column slice of a padded block)."""
        first = int(index[0])
        if first >= 0 and np.array_equal(index, np.arange(first, first + index.size)):
            block = self.image[first : first + index.size]
            if out is None:
                return block
            out[...] = block
            return out
        rows = np.maximum(index, 0)
        if out is not None and out.dtype == self.image.dtype:
            # mode="clip" (the indices are in range) lets numpy write into a strided out
            block = np.take(self.image, rows, axis=0, out=out, mode="clip")
        else:  # an 8-bit image: its padded rows are float32, like the constant
            block = np.take(self.image, rows, axis=0).astype(np.float32, copy=False)
            if out is not None:
                out[...] = block
                block = out
        if self.border == "constant":
            block[index < 0] = self.cval
        return block

    def full(self) -> np.ndarray:
        """The whole padded image, float32 (the FFT strategy needs it)."""
        return self.rows(0, self.shape[0]).astype(np.float32, copy=False)


@lru_cache(maxsize=64)
def _column_fills(width: int, left: int, right: int, border: str):
    """``(padding columns, the block columns they copy or None for the constant)`` for
    each side of a padded block: computed once per shape (every strip asks)."""
    index = _shared_pad_index(width, left, right, border, np.int64)
    fills = []
    for part in (slice(0, left), slice(left + width, left + width + right)):
        if part.stop > part.start:
            fills.append((part, None if border == "constant" else _as_slice(left + index[part])))
    return tuple(fills)


def _as_slice(index: np.ndarray):
    """``index`` as a slice when it runs by +1, -1 or 0 (one value, broadcast): what the
    padding of one side is unless it is longer than the image. A slice copies several
    times faster than the same columns picked by an index array.

    >>> _as_slice(np.array([3, 2, 1])), _as_slice(np.array([4, 4])), _as_slice(np.array([0, 2]))
    (slice(3, 0, -1), slice(4, 5, None), array([0, 2]))
    """
    first = int(index[0])
    step = int(index[1]) - first if index.size > 1 else 0
    if step not in (-1, 0, 1) or not np.array_equal(index, first + step * np.arange(index.size)):
        return index
    if step == 0:
        return slice(first, first + 1)
    stop = first + step * index.size
    return slice(first, None if stop < 0 else stop, step)


# --- strategies ---------------------------------------------------------------------------


def direct(source: PaddedSource, weights: np.ndarray, out_hw, stride, dilation) -> np.ndarray:
    """One multiply-add pass per non-zero tap, band by band over the output rows.

    The outputs whose window lies inside the image read it as it is (views, band by
    band); the few rows and columns at the edges are computed from padded copies of
    the cells they read (:meth:`PaddedSource.window`), so no padded copy of the image
    is made, even of an image that is one band.
    """
    taps = [(i, j, float(weights[i, j])) for i, j in zip(*np.nonzero(weights), strict=True)]
    out = _empty(out_hw, source)
    (sy, sx), (dy, dx) = stride, dilation
    spans = (dy * (weights.shape[0] - 1) + 1, dx * (weights.shape[1] - 1) + 1)
    top, left = source.pads[0], source.pads[2]
    (y0, y1), (x0, x1) = (
        _inner(n_out, before, n, span, s)
        for n_out, before, n, span, s in zip(
            out_hw, (top, left), source.image.shape[:2], spans, stride, strict=True
        )
    )

    def run(o0: int, o1: int) -> None:
        o0, o1 = o0 + y0, o1 + y0
        block = source.image[o0 * sy - top : (o1 - 1) * sy + spans[0] - top]
        block = block[:, x0 * sx - left : (x1 - 1) * sx + spans[1] - left]
        accumulate(out[o0:o1, x0:x1], block, taps, stride, dilation)

    if y1 > y0 and x1 > x0:
        band_bytes = COMPILED_BAND_BYTES if _native.module("_taps") else TILE_BYTES
        in_bands(y1 - y0, out[0].nbytes, run, band_bytes=band_bytes, min_rows=spans[0])
    edges = [((0, y0), (0, out_hw[1])), ((y1, out_hw[0]), (0, out_hw[1]))]
    edges += [((y0, y1), (0, x0)), ((y0, y1), (x1, out_hw[1]))]
    for (a, b), (c, d) in edges:
        if b > a and d > c:
            block = source.window(a * sy, (b - 1) * sy + spans[0], c * sx, (d - 1) * sx + spans[1])
            accumulate(out[a:b, c:d], block, taps, stride, dilation)
    return out


def _inner(n_out: int, before: int, n: int, span: int, stride: int) -> tuple[int, int]:
    """The outputs ``[lo, hi)`` along one axis whose window lies inside the image:
    ``before <= o * stride`` and ``o * stride - before + span <= n``.

    >>> _inner(10, 1, 10, 3, 1), _inner(3, 5, 2, 3, 1)
    ((1, 9), (3, 3))
    """
    lo = min(n_out, -(-before // stride))
    return lo, max(lo, min(n_out, (before + n - span) // stride + 1))


def separable(source: PaddedSource, col, row, out_hw, stride, dilation) -> np.ndarray:
    """A vertical pass by ``col`` then a horizontal pass by ``row``, band by band.

    Column padding commutes with the vertical pass, so it is filled in after it,
    on the band's intermediate rows: interior bands read the image as views.
    """
    (sy, sx), (dy, dx) = stride, dilation
    vertical = [(i, 0, float(w)) for i, w in enumerate(col) if w != 0]
    horizontal = [(0, j, float(w)) for j, w in enumerate(row) if w != 0]
    out = _empty(out_hw, source)
    span = dy * (len(col) - 1) + 1
    left, width = source.pads[2], source.image.shape[1]
    constant = source.cval * np.float32(sum(col))

    def run(o0: int, o1: int) -> None:
        block = source.rows(o0 * sy, (o1 - 1) * sy + span, columns=False)
        middle = np.empty((o1 - o0, source.shape[1]) + block.shape[2:], dtype=np.float32)
        accumulate(middle[:, left : left + width], block, vertical, (sy, 1), (dy, 1))
        source.fill_columns(middle, constant)
        accumulate(out[o0:o1], middle, horizontal, (1, sx), (1, dx))

    in_bands(out_hw[0], source.shape[1] * out[0][0].nbytes, run)
    return out


def fft(source: PaddedSource, weights: np.ndarray, out_hw, stride, dilation) -> np.ndarray:
    """Correlation through the real FFT, tile by tile (overlap-save), on every core.

    Tiles of about ``FFT_TILE`` samples a side keep each transform in the cache;
    each tile's first kh-1 rows and kw-1 columns wrap around and are dropped.
    """
    from scipy import fft as sfft

    dy, dx = dilation
    spread = np.zeros((dy * (weights.shape[0] - 1) + 1, dx * (weights.shape[1] - 1) + 1))
    spread[::dy, ::dx] = weights
    # Correlation is convolution with the kernel rotated by 180 degrees.
    flipped = spread[::-1, ::-1].astype(np.float32)
    kh, kw = flipped.shape
    padded = source.full()
    valid = (padded.shape[0] - kh + 1, padded.shape[1] - kw + 1)
    size = tuple(
        sfft.next_fast_len(min(n + k - 1, max(FFT_TILE, 2 * k)), True)
        for n, k in zip(valid, (kh, kw), strict=True)
    )
    step = (size[0] - kh + 1, size[1] - kw + 1)
    spectrum = sfft.rfft2(flipped, s=size)
    if padded.ndim == 3:
        spectrum = spectrum[..., None]
    full = np.empty(valid + padded.shape[2:], dtype=np.float32)
    tile_rows = -(-valid[0] // step[0])
    workers = cores() if tile_rows == 1 else 1  # else the bands share the cores

    def run(t0: int, t1: int) -> None:
        for y in range(t0 * step[0], min(t1 * step[0], valid[0]), step[0]):
            for x in range(0, valid[1], step[1]):
                tile = padded[y : y + size[0], x : x + size[1]]
                product = sfft.rfft2(tile, s=size, axes=(0, 1), workers=workers)
                product *= spectrum
                result = sfft.irfft2(product, s=size, axes=(0, 1), workers=workers)
                rows, cols = min(step[0], valid[0] - y), min(step[1], valid[1] - x)
                full[y : y + rows, x : x + cols] = result[
                    kh - 1 : kh - 1 + rows, kw - 1 : kw - 1 + cols
                ]

    in_bands(tile_rows, full[: step[0]].nbytes, run, band_bytes=1)
    (sy, sx) = stride
    if (sy, sx) == (1, 1):
        return full
    return np.ascontiguousarray(full[::sy, ::sx][: out_hw[0], : out_hw[1]])


def _empty(out_hw, source: PaddedSource) -> np.ndarray:
    return np.empty(tuple(out_hw) + source.image.shape[2:], dtype=np.float32)


# --- the tap loop -------------------------------------------------------------------------


def accumulate(acc: np.ndarray, source: np.ndarray, taps: Taps, stride, dilation) -> None:
    """``acc[y, x] = sum of w * source[y*sy + i*dy, x*sx + j*dx]`` over the taps (i, j, w).

    The tap loops read rows contiguously, so a column stride is done one of two
    ways: with interleaved channels and few taps (``EVERY_COLUMN_TAPS``), every column
    of the rows needed, then every sx-th kept (the sums of stride 1, exactly);
    otherwise the source split into column phases ``source[:, b::sx]``, each copied
    once and summed as stride 1, the phases' sums then added.
    """
    (sy, sx), (dy, dx) = stride, dilation
    if sx == 1:
        _accumulate_phase(acc, source, taps, sy, dy, dx)
        return
    interleaved = acc.ndim == 3 and acc.shape[2] > 1
    if interleaved and acc.shape[1] and len(taps) * (sx - 1) <= EVERY_COLUMN_TAPS:
        every = np.empty((acc.shape[0], (acc.shape[1] - 1) * sx + 1) + acc.shape[2:], np.float32)
        _accumulate_phase(every, source, taps, sy, dy, dx)
        _copy_pixels(acc, every[:, ::sx])
        return
    phases: dict[int, Taps] = {}
    for i, j, w in taps:
        phases.setdefault(j * dx % sx, []).append((i, j * dx // sx, w))
    if not phases:
        acc.fill(0)
    scratch = np.empty_like(acc) if len(phases) > 1 else None
    for n, (b, phase_taps) in enumerate(sorted(phases.items())):
        target = acc if n == 0 else scratch
        _accumulate_phase(target, _column_phase(source, b, sx), phase_taps, sy, dy, 1)
        if n > 0:
            np.add(acc, scratch, out=acc)


def _accumulate_phase(acc, source, taps: Taps, sy: int, dy: int, dx: int) -> None:
    rows, width = acc.shape[:2]
    groups = _group_by_weight(taps)
    if not groups:
        acc.fill(0)
        return
    if _compiled_phase(acc, source, groups, sy, dy, dx):
        return
    source = source.astype(np.float32, copy=False)  # numpy would add 8-bit values in 8 bits
    scratch = np.empty_like(acc) if len(groups) > 1 else None

    def view(i: int, j: int) -> np.ndarray:
        y0, x0 = i * dy, j * dx
        return source[y0 : y0 + sy * (rows - 1) + 1 : sy, x0 : x0 + width]

    for n, (w, positions) in enumerate(groups):
        target = acc if n == 0 else scratch
        if len(positions) == 1:
            if n > 0 and w in (1.0, -1.0):
                (np.add if w > 0 else np.subtract)(acc, view(*positions[0]), out=acc)
                continue
            np.multiply(view(*positions[0]), np.float32(w), out=target)
        else:
            np.add(view(*positions[0]), view(*positions[1]), out=target)
            for position in positions[2:]:
                np.add(target, view(*position), out=target)
            if w != 1.0:
                np.multiply(target, np.float32(w), out=target)
        if n > 0:
            np.add(acc, scratch, out=acc)


def _compiled_phase(acc, source, groups, sy: int, dy: int, dx: int) -> bool:
    """The same sums by the compiled loop (``_native/taps.h``); False when it is not
    built, ``IMGFILTER_PURE=1`` is set, or the arrays are not laid out for it."""
    compiled = _native.module("_taps")
    return compiled is not None and compiled.accumulate(acc, source, groups, sy, dy, dx)


def _group_by_weight(taps: Taps) -> list[tuple[float, list[tuple[int, int]]]]:
    """Taps sharing a weight, largest weight first: [(w, [(i, j), ...]), ...].

    Equal weights (symmetric and box kernels) share one multiply. A positive
    first product also keeps zeros from turning into -0.
    """
    groups: dict[float, list[tuple[int, int]]] = {}
    for i, j, w in taps:
        groups.setdefault(w, []).append((i, j))
    return sorted(groups.items(), key=lambda item: -item[0])


def _copy_pixels(out: np.ndarray, view: np.ndarray) -> None:
    """``out[...] = view``, interleaved channels moved as one item a pixel (numpy
    moves that about twice as fast as the same floats one by one).

    >>> out = np.empty((1, 2, 3), np.float32)
    >>> _copy_pixels(out, np.arange(12, dtype=np.float32).reshape(1, 4, 3)[:, ::2])
    >>> out.tolist()
    [[[0.0, 1.0, 2.0], [6.0, 7.0, 8.0]]]
    """
    if out.ndim == 3 and out.strides[2] == view.strides[2] == out.itemsize:
        pixel = np.dtype((np.void, out.shape[2] * out.itemsize))
        out, view = out.view(pixel), view.view(pixel)
    out[...] = view


def _column_phase(source: np.ndarray, start: int, step: int) -> np.ndarray:
    """A contiguous copy of ``source[:, start::step]``."""
    view = source[:, start::step]
    phase = np.empty(view.shape, source.dtype)
    _copy_pixels(phase, view)
    return phase


# --- threads ------------------------------------------------------------------------------


def in_bands(
    height: int, row_bytes: int, run, *, band_bytes: int = TILE_BYTES, min_rows: int = 1
) -> None:
    """Call ``run(r0, r1)`` over bands of rows of about ``band_bytes``, on every core.

    Bands keep each call's working set in the cache, and threads pay off because
    numpy releases the GIL inside its loops. The calling thread takes bands too, beside
    the pool's threads, and at most one band a core runs at any time in the process
    (``_cores_free``), however many threads call this at once (``--jobs``). Called from
    inside a band, it runs in line, so bands may nest without waiting on each other.
    The first error stops the bands not yet started and is raised here.

    >>> seen = []
    >>> in_bands(3, 100, lambda r0, r1: seen.append((r0, r1)), band_bytes=100)
    >>> sorted(seen)
    [(0, 1), (1, 2), (2, 3)]
    """
    rows = max(min_rows, band_bytes // max(1, row_bytes))
    bounds = [(r, min(height, r + rows)) for r in range(0, height, rows)]
    if len(bounds) == 1 or height * row_bytes < PARALLEL_MIN_BYTES or _in_worker.active:
        for r0, r1 in bounds:
            run(r0, r1)
        return
    todo, taking, failed = iter(bounds), threading.Lock(), []

    def drain() -> None:
        _in_worker.active = True
        try:
            with inside_library():
                while not failed:
                    with taking:
                        band = next(todo, None)
                    if band is None:
                        return
                    with _cores_free():
                        run(*band)
        except BaseException as error:  # noqa: BLE001 - raised in the caller below
            failed.append(error)
        finally:
            _in_worker.active = False

    helpers = [_pool().submit(drain) for _ in range(min(cores(), len(bounds)) - 1)]
    drain()
    for helper in helpers:
        helper.result()
    if failed:
        raise failed[0]


@lru_cache(maxsize=1)
def _cores_free() -> threading.BoundedSemaphore:
    """One token a core: a band runs while it holds one."""
    return threading.BoundedSemaphore(cores())


class _WorkerFlag(threading.local):
    active = False


_in_worker = _WorkerFlag()


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="imgfilter")


@lru_cache(maxsize=1)
def cores() -> int:
    """The machine's core count, asked once (``os.cpu_count`` costs ~15 µs a call here)."""
    return os.cpu_count() or 1
