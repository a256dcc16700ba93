"""A huge .npy or TIFF filtered on a Dask cluster, written by rows as the chunks finish.

The input becomes a lazy Dask array whose chunks are bands of rows; every worker opens
the file itself (the path must be the same on every worker) and reads only its band
and halo. The chain runs on it through :mod:`imgfilter.chunked` (equal to the local
run); a final min-max ``rescale`` computes the extremes first, in one reduction. Each
band is mapped and quantised on its worker, and this process writes the bands into
the output as they arrive, in order, a few at a time: its memory is a few bands.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

CHUNK_BYTES = 32 << 20
"""float32 bytes per band of rows sent to a worker."""
AHEAD = 2
"""Bands in flight per worker thread: enough to keep the cluster busy, few to hold."""


class LazyRows:
    """A row reader that opens its file where it is used: it travels to a worker as a path.

    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npy")
    >>> np.save(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> LazyRows(path, (2, 3))[1:, 1:].tolist()
    [[4.0, 5.0]]
    """

    def __init__(self, path: str, shape: tuple[int, ...]):
        self.path, self.shape = path, tuple(shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float32)
        self._rows: Any = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "shape": self.shape}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["shape"])

    def __getitem__(self, key):
        if self._rows is None:
            self._rows = _open(self.path)
        key = key if isinstance(key, tuple) else (key,)
        block = self._rows[key[:2]] if len(key) > 1 else self._rows[key[0]]
        return block[(slice(None), slice(None)) + tuple(key[2:])] if len(key) > 2 else block


def _open(path: str):
    if path.lower().endswith(".npy"):
        from imgfilter.io._npy_rows import RowReader

        return RowReader(path)
    from imgfilter.io._tiff_rows import TiffRows

    rows = TiffRows.open(path)
    if rows is None:
        raise ValueError(f"{path}: this TIFF cannot be read by rows on this worker")
    return rows


def stream(client, pipeline, rows, mapping: str, depth: int, put_rows) -> None:
    """Like :func:`imgfilter.cli._rows.stream`, on the cluster of ``client``: each
    finished band, mapped and quantised (``depth`` 8 or 16; float32 for 32), goes to
    ``put_rows(first_row, band)`` in this process, in order."""
    import dask.array as da

    from imgfilter import chunked
    from imgfilter.image import stretch
    from imgfilter.io._save import finished_strip

    steps, final = pipeline.split_final_minmax()
    width_bytes = max(1, int(np.prod(rows.shape[1:])) * 4)
    band = max(64, CHUNK_BYTES // width_bytes)
    chunks = (band,) + tuple(rows.shape[1:])
    source = da.from_array(
        LazyRows(os.path.abspath(rows.name), rows.shape), chunks=chunks, asarray=False
    )
    shape = pipeline.check_shape(rows.shape)
    colour, _ = chunked.run_steps(steps, source, None)
    colour = colour.reshape(colour.shape[:2] + tuple(shape[2:]))
    if final is not None:
        axes = (0, 1) if final.params["per_channel"] and colour.ndim == 3 else None
        low, high = client.compute(
            [
                da.nanmin(colour, axis=axes, keepdims=True),
                da.nanmax(colour, axis=axes, keepdims=True),
            ]
        )
        low, high = low.result(), high.result()
        colour = colour.map_blocks(stretch, low, high, dtype=np.float32)

    stored = {8: np.uint8, 16: np.uint16, 32: np.float32}[depth]
    done = colour.map_blocks(finished_strip, mapping, depth, dtype=stored).rechunk({1: -1})
    starts = np.cumsum((0,) + done.chunks[0][:-1])
    threads = max(1, sum(client.nthreads().values()))
    pending: list = []
    for index, first in enumerate(starts):
        pending.append((int(first), client.compute(done.blocks[index])))
        if len(pending) >= AHEAD * threads:
            _write_first(pending, put_rows)
    while pending:
        _write_first(pending, put_rows)


def _write_first(pending: list, put_rows) -> None:
    first, future = pending.pop(0)
    put_rows(first, future.result())
