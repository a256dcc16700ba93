"""Feature maps, the (H, W, K) result of a bank of K kernels: saved as maps, never colour.

K = 1 is a gray image. For K > 1 an 8- or 16-bit output is a labelled **sheet** (the
maps on a grid, row by row, each under its ``k: NAME`` label) or K **files**
``NAME-0.EXT`` ... ``NAME-(K-1).EXT``; each map is mapped into 0-255 on its own. A
.npy keeps the (H, W, K) array, a text matrix writes one block per map under
``# map k: NAME``, and a float TIFF (``rescale="none"``) one float32 page per map, the
page named after its kernel.

>>> grid = layout(5, 10, 20, ["a", "b", "c", "d", "e"])
>>> grid.columns, grid.rows, len(grid.origins)
(3, 2, 5)
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imgfilter import formats
from imgfilter.image import rescale as _rescale
from imgfilter.io import _metadata, _save, _text, _write
from imgfilter.io._metadata import Metadata

LAYOUTS = ("sheet", "files")
GAP = 8  # pixels between cells and around the sheet
BACKGROUND, INK, FRAME = 255.0, 0.0, 128.0  # white sheet, black labels, a gray frame


@dataclass(frozen=True)
class Layout:
    """Where a sheet puts K maps of ``height`` x ``width``: ``origins[k]`` is the (y, x)
    of map k's top-left pixel; each map has a one-pixel gray frame around it and its
    label in the ``label`` rows above the frame."""

    shape: tuple[int, int]
    origins: tuple[tuple[int, int], ...]
    columns: int
    rows: int
    label: int
    font_size: int


def layout(count: int, height: int, width: int, names: Sequence[str]) -> Layout:
    """The grid of a sheet: ceil(sqrt(K)) columns, as many rows as needed, row by row.

    A cell is as wide as the map (plus its frame) or its label, whichever is wider.
    """
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    size = max(11, min(64, round(min(height, width) / 24)))
    font = _font(size)
    label = size + size // 2
    text = max(math.ceil(font.getlength(_label(k, n))) for k, n in enumerate(names))
    cell_w, cell_h = max(width + 2, text), label + height + 2
    origins = tuple(
        (GAP + row * (cell_h + GAP) + label + 1, GAP + column * (cell_w + GAP) + 1)
        for row, column in (divmod(k, columns) for k in range(count))
    )
    shape = (GAP + rows * (cell_h + GAP), GAP + columns * (cell_w + GAP))
    return Layout(shape, origins, columns, rows, label, size)


def _label(k: int, name: str) -> str:
    return f"{k}: {name}"


def _font(size: int):
    from PIL import ImageFont  # FreeType: loaded only when a sheet is drawn

    return ImageFont.load_default(size=size)


def sheet(maps: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The labelled sheet (float32 gray, 0-255) of maps already mapped into 0-255."""
    from PIL import ImageDraw  # loaded only when a sheet is drawn, as _font's FreeType

    count, (height, width) = maps.shape[2], maps.shape[:2]
    grid = layout(count, height, width, names)
    canvas = Image.new("L", grid.shape[::-1], int(BACKGROUND))
    draw, font = ImageDraw.Draw(canvas), _font(grid.font_size)
    for k, (y, x) in enumerate(grid.origins):
        draw.rectangle((x - 1, y - 1, x + width, y + height), outline=int(FRAME))
        draw.text((x - 1, y - 1 - grid.label), _label(k, names[k]), fill=int(INK), font=font)
    result = np.asarray(canvas, dtype=np.float32).copy()
    for k, (y, x) in enumerate(grid.origins):
        result[y : y + height, x : x + width] = maps[..., k]
    return result


def save_maps(
    maps: np.ndarray,
    path: str | os.PathLike,
    names: Sequence[str] | None = None,
    rescale: str | None = None,
    *,
    layout: str = "sheet",
    depth: int | str = "auto",
    quality: int | None = None,
    format: str | None = None,
    metadata: Metadata | None = None,
) -> list[str]:
    """Write a stack of feature maps (H, W, K); return the paths written.

    ``names`` label the maps (default ``map k``); ``layout`` is ``sheet`` or ``files``
    for 8- and 16-bit formats; the other options are :func:`imgfilter.io.save`'s, the
    mapping applied to each map on its own.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> stack = np.stack([np.eye(3), -np.eye(3)], axis=-1) * 100
    >>> [os.path.basename(p) for p in save_maps(stack, f"{folder}/m.png", layout="files")]
    ['m-0.png', 'm-1.png']
    """
    path = os.fspath(path)
    fmt = formats.format_of(path) if format is None else formats.format_name(format)
    stack, names, mapping = _checked(maps, names, rescale, layout, fmt, depth, quality)
    options = {"depth": depth, "quality": quality, "format": fmt, "metadata": metadata}
    if stack.shape[2] == 1:
        _save.save(stack[..., 0], path, mapping, **options)
        return [path]
    mapped = each_mapped(stack, mapping)
    if fmt in formats.ARRAY_FORMATS or mapping == "none":
        _write.put(path, _array_writer(mapped, names, fmt, metadata, path), fmt)
        return [path]
    if layout == "files":
        paths = formats.map_paths(path, stack.shape[2])
        for k, target in enumerate(paths):
            _save.save(mapped[..., k], target, "clip", **options)
        return paths
    _save.save(sheet(mapped, names), path, "clip", **options)
    return [path]


def encode_maps(
    maps: np.ndarray,
    format: str,
    names: Sequence[str] | None = None,
    rescale: str | None = None,
    *,
    depth: int | str = "auto",
    quality: int | None = None,
    name: str | None = None,
    metadata: Metadata | None = None,
) -> bytes:
    """The bytes :func:`save_maps` writes with ``layout="sheet"`` (for stdout)."""
    fmt = formats.format_name(format)
    stack, names, mapping = _checked(maps, names, rescale, "sheet", fmt, depth, quality)
    name = name or f"<{fmt} output>"
    options = {"depth": depth, "quality": quality, "name": name, "metadata": metadata}
    if stack.shape[2] == 1:
        return _save.encode(stack[..., 0], fmt, mapping, **options)
    mapped = each_mapped(stack, mapping)
    if fmt in formats.ARRAY_FORMATS or mapping == "none":
        buffer = io.BytesIO()
        _array_writer(mapped, names, fmt, metadata, name)(buffer)
        return buffer.getvalue()
    return _save.encode(sheet(mapped, names), fmt, "clip", **options)


def _checked(maps, names, rescale, layout, fmt, depth, quality):
    stack = np.asarray(maps)
    if stack.dtype == bool:
        stack = stack * np.float32(255)
    if stack.ndim == 2:
        stack = stack[..., None]
    if stack.ndim != 3 or stack.size == 0 or stack.dtype.kind not in "iuf":
        raise ValueError(f"feature maps must be a non-empty (H, W, K) array, got {stack.shape}")
    count = stack.shape[2]
    names = [f"map {k}" for k in range(count)] if names is None else [str(n) for n in names]
    if len(names) != count:
        raise ValueError(f"{count} feature maps need {count} names, got {len(names)}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    mapping = formats.check_output(fmt, rescale, depth, quality)[0]
    return stack.astype(np.float32, copy=False), names, mapping


def each_mapped(stack: np.ndarray, mapping: str) -> np.ndarray:
    """Every map mapped into 0-255 on its own (``none`` keeps the numbers)."""
    if mapping == "none":
        return stack
    return np.stack([_rescale(stack[..., k], mapping) for k in range(stack.shape[2])], axis=-1)


def _array_writer(stack: np.ndarray, names: list[str], fmt: str, metadata, name: str):
    """How .npy, text and float TIFF keep the (H, W, K) array."""
    if fmt == "NPY":
        return lambda file: np.save(file, stack, allow_pickle=False)
    if fmt in formats.TEXT_FORMATS:
        return lambda file: file.write(_text.format_text(stack, fmt, names))
    if fmt != "TIFF":
        raise ValueError(f"rescale 'none' keeps floats, which {fmt} cannot store")
    pages = [Image.fromarray(np.ascontiguousarray(stack[..., k])) for k in range(stack.shape[2])]
    tags = _metadata.tiff_tags(_metadata.fitted(metadata, "TIFF", name, gray=True))
    for page, label in zip(pages, names, strict=True):
        page.encoderinfo = {"tiffinfo": {**tags, 285: label}}

    def write(file) -> None:
        buffer = io.BytesIO()  # Pillow reads back what it appends: not on a write-only file
        pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
        file.write(buffer.getbuffer())

    return write
