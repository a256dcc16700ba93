"""Pipelines on Dask arrays: lazy, computed chunk by chunk, equal to the in-memory result.

Each segment of steps that can run in tiles (see :mod:`imgfilter.tiles`) becomes one
task per output chunk: the task reads exactly the input region its chunk needs (the
halo included, clamped to the image) and applies the segment's steps with the border
mode only at the image's true edges, so chunk boundaries never show. Stride and pooling
shrink the output: its chunks are the input's divided by the segment's stride. A
min-max ``rescale`` is a two-pass reduction (the minimum and maximum, then the
mapping); the other steps that need the whole image (Canny, noise, global pooling, a
``wrap`` border) run as one task on the gathered array, which ``explain`` says.

Chunks smaller than a segment's halo (the cells its windows reach past a chunk) are
merged first, to at least the halo along that axis (:func:`at_least_halo`): the result
is the same either way, but each output chunk would otherwise read many small input
chunks (a 200 × 180 image in 4 × 4 chunks through ``gaussian sigma=6 | box size=9``:
1.7 million tasks, a minute to build the graph and 7 to compute it; merged: 16 tiles,
0.4 s, most of it the 2250 input chunks themselves). The output's chunks then follow
the merged ones. Each tile reads the input chunks it meets by their keys (the
neighbours' halo strips are cut by small tasks where those chunks live, so only the
strips travel between workers), so every input chunk is computed (or read) once,
however many tiles need its cells; the input keeps its dtype (8-bit stays 8-bit) until
the tile converts its block to float32.

A tile runs on the one thread Dask gives it (:func:`on_this_thread`): imgfilter's own
pool of threads is not used there, so a worker with one thread uses one core.

Dask is an optional extra (``pip install 'imgfilter[dask]'``); this module is imported
only when a Dask array is given.

>>> import numpy as np, dask.array as da
>>> from imgfilter.pipeline import Pipeline
>>> image = np.random.default_rng(0).uniform(0, 255, (30, 20)).astype(np.float32)
>>> steps = Pipeline.parse("gaussian sigma=2 | convolve kernel=sobel-x stride=2").steps
>>> lazy = run_steps(steps, da.from_array(image, chunks=7), None)[0]
>>> expected = image
>>> for step in steps:
...     expected = step.op.apply(expected, step.params)
>>> bool(np.allclose(lazy.compute(), expected, rtol=1e-5, atol=1e-3))
True
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

from imgfilter import _compute
from imgfilter.image import stretch
from imgfilter.tiles import output_shapes, plan_tile, reach_of, run_tile, segments


def is_dask_array(value) -> bool:
    """True for a Dask array, without importing Dask when it is not one."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks")


def run_pipeline(pipeline, array, alpha: str = "premultiply"):
    """``pipeline`` on a Dask ``array`` (H, W) or (H, W, C), alpha last for C = 2 or 4:
    a lazy Dask array of the result, as :meth:`imgfilter.pipeline.Pipeline.run` gives."""
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ValueError(f"image must be a non-empty 2-D or 3-D array, got shape {array.shape}")
    colour, plane = array, None  # converted to float32 chunk by chunk, by the first step
    if array.ndim == 3 and array.shape[2] in (2, 4):
        colour = array[..., 0] if array.shape[2] == 2 else array[..., :3]
        plane = None if alpha == "drop" else array[..., -1]
    pipeline.check_shape(colour.shape)
    colour, plane = run_steps(pipeline.steps, colour, plane, alpha)
    if plane is None or colour.ndim == 1 or colour.ndim == 3 and colour.shape[2] not in (1, 3):
        return colour
    return da.concatenate([colour.reshape(colour.shape[:2] + (-1,)), plane[..., None]], axis=2)


def run_steps(steps: Sequence, colour, alpha, mode: str = "premultiply"):
    """Run ``steps`` lazily on Dask arrays ``colour`` and ``alpha`` (or None)."""
    for segment, whole in segments(steps):
        if segment:
            colour, alpha = _segment(segment, colour, alpha, mode)
        if whole is None:
            continue
        colour = colour.astype(np.float32)
        alpha = None if alpha is None else alpha.astype(np.float32)
        if whole.op.name == "rescale" and whole.params["mode"] == "minmax":
            colour = _minmax(colour, whole.params["per_channel"])
        else:
            colour, alpha = _gathered(whole, colour, alpha, mode)
    return colour, alpha


def _segment(steps, colour, alpha, mode):
    """One task per output chunk, reading the input chunks its region meets (the keys
    themselves: every input chunk is computed once, however many tiles read it)."""
    shapes = output_shapes(steps, colour.shape)
    halo = segment_halo(steps, shapes)
    colour = _one_chunk_deep(at_least_halo(colour, halo))
    alpha = None if alpha is None else at_least_halo(alpha, halo)
    keeps_alpha = alpha is not None and all(step.op.keeps_alpha() for step in steps)
    chunks = _output_chunks(steps, shapes, colour.chunks)
    token = tokenize(
        colour.name, None if alpha is None else alpha.name, mode, chunks,
        [(step.op.name, step.params) for step in steps],
    )  # fmt: skip
    tiles, names = f"imgfilter-tile-{token}", (f"imgfilter-{token}", f"imgfilter-alpha-{token}")
    tile_layer, colour_layer, alpha_layer = {}, {}, {}
    depth = (0,) * (len(shapes[-1]) - 2)
    for i, rows in enumerate(_bounds(chunks[0])):
        for j, cols in enumerate(_bounds(chunks[1])):
            plan = plan_tile(steps, shapes, rows, cols)
            ys, xs = plan[0][1]
            colour_keys = _region(colour, ys, xs, f"{tiles}-piece", tile_layer)
            alpha_keys = None
            if alpha is not None:
                alpha_keys = _region(alpha, ys, xs, f"{tiles}-alpha-piece", tile_layer)
            tile_layer[(tiles, i, j)] = (_Tile(plan, mode), colour_keys, alpha_keys)
            colour_layer[(names[0], i, j, *depth)] = (operator.getitem, (tiles, i, j), 0)
            alpha_layer[(names[1], i, j)] = (operator.getitem, (tiles, i, j), 1)
    sources = [colour] if alpha is None else [colour, alpha]
    graph = HighLevelGraph.merge(*(source.dask for source in sources))
    layers = {**graph.layers, tiles: MaterializedLayer(tile_layer)}
    dependencies = {**graph.dependencies, tiles: {n for a in sources for n in a.__dask_layers__()}}
    out_chunks = chunks + tuple((size,) for size in shapes[-1][2:])
    out = _array(layers, dependencies, tiles, names[0], colour_layer, out_chunks)
    if not keeps_alpha:
        return out, None
    return out, _array(layers, dependencies, tiles, names[1], alpha_layer, chunks)


def _array(layers, dependencies, tiles: str, name: str, layer: dict, chunks):
    graph = HighLevelGraph(
        {**layers, name: MaterializedLayer(layer)}, {**dependencies, name: {tiles}}
    )
    return da.Array(graph, name, chunks, dtype=np.float32)


@dataclass(frozen=True)
class _Tile:
    """The task of one output chunk: join the pieces of its region, run the plan."""

    plan: list
    mode: str

    def __call__(self, colour_grid, alpha_grid):
        block = _join(colour_grid)
        block_alpha = None if alpha_grid is None else _join(alpha_grid)
        with on_this_thread():
            return run_tile(self.plan, block, block_alpha, self.mode)


@contextmanager
def on_this_thread():
    """Inside, imgfilter's steps run on the calling thread only, not on its own pool of
    threads: on Dask the scheduler spreads the work (workers × threads = the cores).

    >>> with on_this_thread():
    ...     _compute._in_worker.active
    True
    """
    flag = _compute._in_worker
    before, flag.active = flag.active, True
    try:
        yield
    finally:
        flag.active = before


def _join(grid):
    rows = [row[0] if len(row) == 1 else np.concatenate(row, axis=1) for row in grid]
    return rows[0] if len(rows) == 1 else np.concatenate(rows, axis=0)


def _region(array, ys, xs, name: str, layer: dict) -> list[list]:
    """The keys of the pieces of ``array`` that rows ``ys`` × columns ``xs`` cover, a
    nested list row by row: a chunk's own key where all of it is wanted, else the key of
    a task added to ``layer`` that cuts the part wanted (on the worker that holds the
    chunk, so only that part travels)."""
    found = []
    for axis, span in enumerate((ys, xs)):
        starts = np.cumsum((0,) + array.chunks[axis]).tolist()
        low = int(np.searchsorted(starts, span.first, side="right")) - 1
        high = max(low + 1, int(np.searchsorted(starts, span.stop, side="left")))
        cuts = []
        for index in range(low, high):
            first, stop = max(span.first, starts[index]), min(span.stop, starts[index + 1])
            whole = first == starts[index] and stop == starts[index + 1]
            cuts.append((index, None if whole else (first - starts[index], stop - starts[index])))
        found.append(cuts)
    depth = (0,) * (array.ndim - 2)
    grid = []
    for i, rows in found[0]:
        line = []
        for j, cols in found[1]:
            key = (array.name, i, j, *depth)
            if rows is not None or cols is not None:
                where = tuple(slice(*cut) if cut else slice(None) for cut in (rows, cols))
                piece = (name, i, j, *(rows or (0, 0)), *(cols or (0, 0)))
                layer[piece] = (operator.getitem, key, where)
                key = piece
            line.append(key)
        grid.append(line)
    return grid


def _one_chunk_deep(array):
    """The channels of an (H, W, C) array in one chunk, as each tile needs them all."""
    return array.rechunk({2: -1}) if array.ndim == 3 and array.numblocks[2] > 1 else array


def segment_halo(steps, shapes) -> tuple[int, int]:
    """How many input cells, per axis (both sides together), the windows of a segment
    reach past the input of an output chunk; ``shapes`` as :func:`output_shapes` gives.

    >>> from imgfilter.pipeline import Pipeline
    >>> steps = Pipeline.parse("box size=5,3 | convolve kernel=box stride=2").steps
    >>> segment_halo(steps, output_shapes(steps, (40, 40)))
    (6, 4)
    """
    halo, scale = [0, 0], [1, 1]
    for step, shape in zip(steps, shapes, strict=False):
        reach = reach_of(step, shape)
        if reach is None:
            continue
        for axis in (0, 1):
            halo[axis] += (reach[axis].span - 1) * scale[axis]
            scale[axis] *= reach[axis].stride
    return halo[0], halo[1]


def at_least_halo(array, halo: Sequence[int]):
    """``array`` rechunked so that its chunks along the first two axes are at least
    ``halo`` cells (but the last one of an axis, which may be shorter); itself when they are.

    >>> at_least_halo(da.zeros((10, 9), chunks=2), (5, 1)).chunks
    ((5, 5), (2, 2, 2, 2, 1))
    """
    wanted = {}
    for axis in (0, 1):
        sizes = array.chunks[axis]
        if min(sizes[:-1] or sizes) < halo[axis]:
            wanted[axis] = min(array.shape[axis], max(sizes[0], halo[axis]))
    return array.rechunk(wanted) if wanted else array


def _output_chunks(steps, shapes, chunks) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The output's chunks: the input's first chunk size over the segment's stride."""
    strides = [1, 1]
    for step, shape in zip(steps, shapes, strict=False):
        reach = reach_of(step, shape)
        if reach is not None:
            strides = [s * r.stride for s, r in zip(strides, reach, strict=True)]
    out = shapes[-1]
    return tuple(
        da.core.normalize_chunks(max(1, math.ceil(chunks[axis][0] / strides[axis])), (out[axis],))[
            0
        ]
        for axis in (0, 1)
    )


def _bounds(sizes: Sequence[int]):
    start = 0
    for size in sizes:
        yield (start, start + size)
        start += size


def _minmax(colour, per_channel: bool):
    """Min-max in two passes: the statistics (a reduction), then the mapping per chunk."""
    axes = (0, 1) if per_channel and colour.ndim == 3 else None
    low = da.nanmin(colour, axis=axes, keepdims=True)
    high = da.nanmax(colour, axis=axes, keepdims=True)
    return da.map_blocks(_map_minmax, colour, low, high, dtype=np.float32)


def _map_minmax(block, low, high):
    return stretch(block, low, high)


def _gathered(step, colour, alpha, mode):
    """A step that needs the whole image, as one task on the gathered array."""
    shape = tuple(step.op.output_shape(colour.shape, step.params))
    task = dask.delayed(step.op.carry, nout=2, pure=True)(colour, alpha, step.params, mode)
    out = da.from_delayed(task[0], shape, np.float32)
    if alpha is None or not step.op.keeps_alpha():
        return out, None
    return out, da.from_delayed(task[1], shape[:2], np.float32)
