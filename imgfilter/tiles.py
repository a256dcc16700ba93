"""Pipelines computed strip by strip, with the result of computing the whole image at once.

A run of windowed and pixel-wise steps (a segment) is computed in horizontal strips of
the output. For each strip the rows every step needs are worked out backwards, last
step first: output rows ``[a, b)`` of a step read its input rows
``[a·s − top, (b − 1)·s − top + span)`` (s the stride, span the dilated window height,
top the padding above). Only those input rows are converted to float32, every step of
the segment runs on them while they are in the cache, and border modes apply only where
a strip meets the true edge of the image; elsewhere the neighbouring rows are real
pixels. Steps that need the whole image (``Operation.needs_whole_image``) run between
segments on the whole image. Strips run on every core.

>>> import numpy as np
>>> from imgfilter.pipeline import Pipeline
>>> image = np.random.default_rng(0).uniform(0, 255, (40, 9)).astype(np.float32)
>>> steps = Pipeline.parse("gaussian sigma=2 | convolve kernel=sobel-x stride=2").steps
>>> tiled, _ = run_steps(steps, image, None, strip_rows=3)
>>> whole = image
>>> for step in steps:
...     whole = step.op.apply(whole, step.params)
>>> bool(np.allclose(tiled, whole, rtol=1e-5, atol=1e-3))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imgfilter import engine

STRIP_BYTES = 4 << 20
"""Bytes of float32 output per strip: a strip's blocks of every step stay in the cache."""


@dataclass(frozen=True)
class Rows:
    """One step of one strip: input rows ``[first, stop)`` (inside the image), the rows
    the step pads ``above`` and ``below`` them (for steps whose padding is a parameter;
    only at the image's true edges), and the result rows ``[keep, keep + count)`` wanted.
    """

    first: int
    stop: int
    keep: int
    count: int
    above: int = 0
    below: int = 0


@dataclass(frozen=True)
class Reach:
    """How a windowed step's output rows map onto its input rows.

    ``explicit`` steps take their padding as a parameter (convolve, pool), so a strip
    passes the padding it needs; the others pad inside (``same`` size, stride 1), so a
    strip reads ``top`` and ``bottom`` extra rows and drops what they spoil.
    """

    stride: int
    span: int
    top: int
    bottom: int
    explicit: bool
    columns: tuple[int, int] = (0, 0)

    def rows(self, a: int, b: int, height: int) -> Rows:
        """Input rows for output rows ``[a, b)`` of an input ``height`` rows tall.

        >>> Reach(1, 3, 1, 1, False).rows(4, 6, 10)
        Rows(first=3, stop=7, keep=1, count=2, above=0, below=0)
        >>> Reach(2, 3, 0, 0, True).rows(1, 2, 7)
        Rows(first=2, stop=5, keep=0, count=1, above=0, below=0)
        """
        s = self.stride
        start = a * s - self.top
        first = min(height, max(0, start))
        stop = max(0, min(height, (b - 1) * s - self.top + self.span))
        # Reflect and symmetric padding at a true edge mirror rows inside the image: the
        # block must hold them (the whole image when the padding is taller than it).
        if first == 0:
            stop = height if self.top >= height else max(stop, min(height, self.top + 1))
        if stop == height:
            lowest = 0 if self.bottom >= height else max(0, height - self.bottom - 1)
            if lowest < first:
                first = max(0, start - -(-(start - lowest) // s) * s)
        if not self.explicit:
            return Rows(first, stop, a - first, b - a)
        above = self.top if first == 0 else 0
        below = self.bottom if stop == height else 0
        return Rows(first, stop, (start - first + above) // s, b - a, above, below)


def reach_of(step, shape: Sequence[int]) -> Reach | None:
    """The step's :class:`Reach` on an input of ``shape``, or None for a pixel-wise step."""
    window = step.op.window_of(step.params)
    if window is None:
        return None
    plan = step.op.plan(tuple(shape), step.params, window)
    kh, sy, dy = plan.kernel_shape[0], plan.stride[0], plan.dilation[0]
    top, bottom, left, right = plan.pads
    explicit = step.op.geometry != "same"
    return Reach(sy, dy * (kh - 1) + 1, top, bottom, explicit, (left, right))


def run_steps(
    steps: Sequence,
    colour: np.ndarray,
    alpha: np.ndarray | None,
    mode: str = "premultiply",
    *,
    strip_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run ``steps`` on ``colour`` (any numeric dtype) and its alpha plane, tiled.

    Returns float32 ``(colour, alpha)``; alpha is None when there was none or a step
    dropped it. ``strip_rows`` fixes the output rows per strip (for tests).
    """
    segment: list = []
    for step in [*steps, None]:
        if step is not None and not step.op.needs_whole_image(step.params):
            segment.append(step)
            continue
        if segment:
            colour, alpha = _run_segment(segment, colour, alpha, mode, strip_rows)
            segment = []
        if step is not None:
            colour, alpha = step.op.carry(_float(colour), _float(alpha), step.params, mode)
    return _float(colour), _float(alpha)


def _float(array):
    return None if array is None else np.asarray(array, dtype=np.float32)


def _run_segment(steps, colour, alpha, mode, strip_rows):
    shapes = [tuple(colour.shape)]
    for step in steps:
        shapes.append(tuple(step.op.output_shape(shapes[-1], step.params)))
    reaches = [reach_of(step, shape) for step, shape in zip(steps, shapes, strict=False)]
    out = np.empty(shapes[-1], dtype=np.float32)
    out_alpha = None if alpha is None else np.empty(shapes[-1][:2], dtype=np.float32)
    kept = {"alpha": alpha is not None}

    def strip(a: int, b: int) -> None:
        plan = _plan_strip(reaches, shapes, a, b)
        first, stop = plan[0].first, plan[0].stop
        block = _float(colour[first:stop])
        block_alpha = None if alpha is None else _float(alpha[first:stop])
        for step, reach, rows in zip(steps, reaches, plan, strict=True):
            params = step.params
            if reach is not None and reach.explicit:
                params = {**params, "padding": (rows.above, rows.below, *reach.columns)}
            block, block_alpha = step.op.carry(block, block_alpha, params, mode)
            block = block[rows.keep : rows.keep + rows.count]
            if block_alpha is not None:
                block_alpha = block_alpha[rows.keep : rows.keep + rows.count]
        out[a:b] = block
        if block_alpha is None:
            kept["alpha"] = False
        elif out_alpha is not None:
            out_alpha[a:b] = block_alpha

    height = shapes[-1][0]
    row_bytes = max(1, out[:1].nbytes)
    halo = sum(r.span for r in reaches if r is not None)
    rows = strip_rows or max(8, 2 * halo, STRIP_BYTES // row_bytes)
    engine.in_bands(height, row_bytes, strip, band_bytes=rows * row_bytes, min_rows=rows)
    return out, out_alpha if kept["alpha"] else None


def _plan_strip(reaches, shapes, a: int, b: int) -> list[Rows]:
    """Rows of every step for output rows ``[a, b)`` of the segment, first step first."""
    plan = []
    for reach, shape in zip(reversed(reaches), reversed(shapes[:-1]), strict=True):
        rows = Rows(a, b, 0, b - a) if reach is None else reach.rows(a, b, shape[0])
        plan.append(rows)
        a, b = rows.first, rows.stop
    return plan[::-1]
