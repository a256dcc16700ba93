"""Pipelines on Dask arrays: lazy, computed chunk by chunk, equal to the in-memory result.

Each segment of steps that can run in tiles (see :mod:`imgfilter.tiles`) becomes one
task per output chunk: the task reads exactly the input region its chunk needs (the
halo included, clamped to the image) and applies the segment's steps with the border
mode only at the image's true edges, so chunk boundaries never show. Stride and pooling
shrink the output: its chunks are the input's divided by the segment's stride. A
min-max ``rescale`` is a two-pass reduction (the minimum and maximum, then the
mapping); the other steps that need the whole image (Canny, noise, global pooling, a
``wrap`` border) run as one task on the gathered array, which ``explain`` says.

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
from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np

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
    array = array.astype(np.float32)
    colour, plane = array, None
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
        if whole.op.name == "rescale" and whole.params["mode"] == "minmax":
            colour = _minmax(colour, whole.params["per_channel"])
        else:
            colour, alpha = _gathered(whole, colour, alpha, mode)
    return colour, alpha


def _segment(steps, colour, alpha, mode):
    shapes = output_shapes(steps, colour.shape)
    chunks = _output_chunks(steps, shapes, colour.chunks)
    colour_rows, alpha_rows = [], []
    for rows in _bounds(chunks[0]):
        colour_row, alpha_row = [], []
        for cols in _bounds(chunks[1]):
            plan = plan_tile(steps, shapes, rows, cols)
            ys, xs = plan[0][1]
            where = (slice(ys.first, ys.stop), slice(xs.first, xs.stop))
            source_alpha = None if alpha is None else alpha[where]
            task = dask.delayed(run_tile, nout=2, pure=True)(
                plan, colour[where], source_alpha, mode
            )
            shape = (rows[1] - rows[0], cols[1] - cols[0])
            block = da.from_delayed(task[0], shape + shapes[-1][2:], np.float32)
            colour_row.append([block] if block.ndim == 3 else block)  # da.block nests per axis
            if alpha is not None:
                alpha_row.append(da.from_delayed(task[1], shape, np.float32))
        colour_rows.append(colour_row)
        alpha_rows.append(alpha_row)
    out = da.block(colour_rows)
    return out, None if alpha is None else da.block(alpha_rows)


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
