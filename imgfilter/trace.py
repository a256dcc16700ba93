"""The arithmetic of one output pixel, step by step, written as the lecture notes write it.

For every windowed step, :func:`trace` shows the input window the traced pixel reads
(after padding; padded cells marked ``'``, taps a dilation skips shown as ``·``), the
weights, the products and their sum; pooling shows the window and its max, mean or
min; other steps show the value before and after. The pixel followed through earlier
steps is the one under each window's anchor. The last line maps the value into 0-255.

>>> import numpy as np
>>> from imgfilter.pipeline import Pipeline
>>> image = np.zeros((6, 6), np.float32); image[3:] = 255
>>> text = trace(Pipeline.parse("convolve kernel=sobel-y padding=valid"), image, 1, 0)
>>> print(text.splitlines()[-2])
  0×1 + 0×2 + 0×1 + 0×0 + 0×0 + 0×0 + 255×(−1) + 255×(−2) + 255×(−1) = −1020
"""

from __future__ import annotations

import numpy as np

from imgfilter import engine
from imgfilter._checks import image_array, size_text
from imgfilter.image import rescale, split_alpha
from imgfilter.io._text import number_text
from imgfilter.kernels import get_kernel

MAX_TERMS = 81
"""Products written out in full up to this many taps; longer sums are abbreviated."""


def trace(pipeline, image, y: int, x: int) -> str:
    """How output pixel (``y``, ``x``) of ``pipeline`` run on ``image`` came about."""
    colour, _ = split_alpha(image_array(image))
    inputs, results = [], []
    for step in pipeline.steps:
        inputs.append(colour)
        colour = step.op.apply(colour, step.params)
        results.append(colour)
    if colour.ndim == 1:
        raise ValueError("trace needs an image result; global pooling gives one value per channel")
    windows = [step.op.window_of(step.params) for step in pipeline.steps]
    if all(w is None for w in windows):
        raise ValueError(f"trace needs a windowed step; {str(pipeline)!r} has none")
    height, width = colour.shape[:2]
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(
            f"trace position ({y}, {x}) is outside the output {size_text((height, width))}"
        )
    positions = _positions_backwards(pipeline, inputs, windows, (y, x))
    lines = []
    steps = zip(pipeline.steps, inputs, results, windows, positions, strict=True)
    for step, source, result, window, at in steps:
        lines.append(f"{step.label}: output ({at[1][0]}, {at[1][1]}) = {_value(result, at[1])}")
        if window is None:
            before = _value(source, at[1]) if source.shape[:2] == result.shape[:2] else "-"
            lines.append(f"  pixel-wise: {before} -> {_value(result, at[1])}")
        else:
            lines.extend(_window_lines(step, source, window, at[1]))
            follow_up = _FOLLOW_UPS.get(step.op.name)
            if follow_up is not None:
                lines.extend(follow_up(step, source, result, at[1]))
    mapping = pipeline.output_mapping
    mapped = rescale(colour, mapping)
    lines.append(f"output mapping {mapping}: {_value(colour, (y, x))} -> {_value(mapped, (y, x))}")
    return "\n".join(lines)


def _positions_backwards(pipeline, inputs, windows, out):
    """For each step, (its input pixel under the anchor, its output pixel), last step first."""
    positions = []
    for step, source, window in zip(
        reversed(pipeline.steps), reversed(inputs), reversed(windows), strict=True
    ):
        if window is None or step.op.geometry == "same":
            inside = out
        else:
            plan = engine.plan(source.shape, window[0], **window[1])
            inside = _anchor(plan, out)
        positions.append((inside, out))
        out = tuple(min(max(p, 0), n - 1) for p, n in zip(inside, source.shape[:2], strict=True))
    return positions[::-1]


def _anchor(plan, out) -> tuple[int, int]:
    """The input pixel under the window's anchor tap for output pixel ``out``."""
    (kh, kw), (sy, sx), (dy, dx) = plan.kernel_shape[:2], plan.stride, plan.dilation
    top, left = plan.pads[0], plan.pads[2]
    return (
        out[0] * sy + (kh - 1) // 2 * dy - top,
        out[1] * sx + (kw - 1) // 2 * dx - left,
    )


def _window_lines(step, source, window, out) -> list[str]:
    kernel, options = window
    plan = engine.plan(source.shape, kernel, **options)
    (kh, kw), (sy, sx), (dy, dx) = plan.kernel_shape[:2], plan.stride, plan.dilation
    border = step.params.get("border", "reflect")
    padded = engine.pad(source, plan.pads, border, step.params.get("cval", 0.0))
    y0, x0 = out[0] * sy, out[1] * sx
    span = padded[y0 : y0 + dy * (kh - 1) + 1, x0 : x0 + dx * (kw - 1) + 1]
    top, left = plan.pads[0], plan.pads[2]
    rows = range(y0 - top, y0 - top + span.shape[0])
    cols = range(x0 - left, x0 - left + span.shape[1])
    lines = [
        f"  input window rows {rows.start}..{rows.stop - 1}, columns {cols.start}..{cols.stop - 1}"
        + (f" (padding: {border}, marked ')" if _touches_padding(rows, cols, source) else "")
    ]
    channels = range(span.shape[2]) if span.ndim == 3 else [None]
    for c in channels:
        plane = span if c is None else span[..., c]
        if c is not None:
            lines.append(f"  channel {c}:")
        lines.extend("    " + row for row in _grid(plane, rows, cols, (dy, dx), source.shape))
        taps = plane[::dy, ::dx]
        if not step.op.weighted:
            lines.append(f"  {step.params['mode']} = {number_text(_pool(taps, step.params))}")
            continue
        if isinstance(kernel, engine.Footprint):
            lines.append(
                f"  weights: {kernel.name} {size_text(kernel.shape)}, too many to write out"
            )
            continue
        members = getattr(kernel, "kernels", (kernel,))
        if step.op.name == "sobel" and step.params["direction"] == "magnitude":
            members = (kernel, get_kernel("sobel-y"))
        for member in members:
            weights = getattr(member, "matrix", member)
            if weights.ndim == 3:
                weights = weights[..., c or 0]
            lines.append(f"  weights ({getattr(member, 'name', 'kernel')}):")
            lines.extend("    " + row for row in _plain_grid(weights))
            lines.append("  " + _sum_text(taps, weights))
    note = step.op.note(step.params) if step.op.note and step.op.weighted else ""
    if note:
        lines.append(f"  then: {note}")
    return lines


def _touches_padding(rows, cols, source) -> bool:
    height, width = source.shape[:2]
    return rows.start < 0 or cols.start < 0 or rows.stop > height or cols.stop > width


def _grid(plane, rows, cols, dilation, shape) -> list[str]:
    """The window's cells; ``'`` after a padded cell, ``·`` for a tap the dilation skips."""
    height, width = shape[:2]
    cells = []
    for i, r in enumerate(rows):
        row = []
        for j, c in enumerate(cols):
            if i % dilation[0] or j % dilation[1]:
                row.append("·")
                continue
            padded = not (0 <= r < height and 0 <= c < width)
            row.append(number_text(plane[i, j]) + ("'" if padded else ""))
        cells.append(row)
    return _align(cells)


def _plain_grid(values) -> list[str]:
    return _align([[number_text(v) for v in row] for row in values])


def _align(cells: list[list[str]]) -> list[str]:
    width = max(len(cell) for row in cells for cell in row)
    return [" ".join(cell.rjust(width) for cell in row) for row in cells]


def _signed(value: float) -> str:
    text = number_text(value)
    return f"(−{text[1:]})" if text.startswith("-") else text


def _sum_text(taps, weights) -> str:
    products = [
        f"{_signed(a)}×{_signed(w)}" for a, w in zip(taps.ravel(), weights.ravel(), strict=True)
    ]
    total = float(np.dot(taps.ravel().astype(np.float64), weights.ravel()))
    if len(products) > MAX_TERMS:
        products = [*products[:8], f"… ({len(products)} products) …", *products[-2:]]
    return " + ".join(products) + f" = {_signed(total).strip('()')}"


def _pool(taps, params) -> float:
    reduce = {"max": np.max, "avg": np.mean, "min": np.min}[params["mode"]]
    return float(reduce(taps))


def _value(array, at) -> str:
    value = array[at[0], at[1]]
    if np.ndim(value) == 0:
        return _signed(float(value)).strip("()")
    return "(" + ", ".join(_signed(float(v)).strip("()") for v in value) + ")"


def _sobel_magnitude(step, source, result, out) -> list[str]:
    if step.params["direction"] != "magnitude":
        return []
    return [f"  magnitude: sqrt(x² + y²) = {_value(result, out)}"]


def _unsharp(step, source, result, out) -> list[str]:
    amount = number_text(step.params["amount"])
    return [
        f"  then: image + {amount} × (image − blurred) = {_value(result, out)}"
        + (
            f" (differences below {number_text(step.params['threshold'])} left out)"
            if step.params["threshold"]
            else ""
        )
    ]


# How a step combines the sums shown above into its value, where it does more than sum.
_FOLLOW_UPS = {"sobel": _sobel_magnitude, "unsharp": _unsharp}
