"""Numbers as images: ``.csv``, ``.tsv`` and ``.txt`` matrices read and written as written.

One row a line, the cells separated by commas, tabs or spaces (the first row of numbers
decides); ``#`` starts a comment line. A matrix loads as a grayscale float32 image with
the values exactly as written; writing one prints integers without a decimal point and
other values with at most 6 significant digits. A stack of maps (H, W, K) is written as
K blocks, each under a ``# map k: NAME`` line.

>>> parse_text(b"# the seeds' 2x2\\n0 1\\n2 3\\n", "m.txt")
array([[0., 1.],
       [2., 3.]], dtype=float32)
>>> print(format_text(np.array([[0.0, -1020.0], [0.5, 255.0]]), "TXT").decode(), end="")
    0 -1020
  0.5   255
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imgfilter.errors import ImageFileError

TEXT_FORMATS = ("CSV", "TSV", "TXT")
"""The format names of text matrices; the file extension is the name in lower case."""
_SEPARATORS = {"CSV": ",", "TSV": "\t"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def format_of_name(name: str) -> str | None:
    """``"CSV"`` for ``m.csv`` (any case), None for a name that is not a text matrix.

    >>> format_of_name("seeds/step.TXT"), format_of_name("photo.png")
    ('TXT', None)
    """
    extension = name.rsplit(".", 1)[-1].upper() if "." in name else ""
    return extension if extension in TEXT_FORMATS else None


def parse_text(data: bytes, name: str) -> np.ndarray:
    """The matrix held in text ``data`` as float32 (H, W); errors start with ``name``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageFileError(f"{name}: not a text matrix (not UTF-8 text)") from None
    rows: list[list[float]] = []
    separator = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if separator is None:
            separator = "," if "," in line else "\t" if "\t" in line else None
        cells = [c.strip() for c in line.split(separator)] if separator else line.split()
        rows.append(_numbers(cells, len(rows), number, name))
        if len(rows[-1]) != len(rows[0]):
            count = len(rows[-1])
            raise ImageFileError(
                f"{name}: ragged matrix: row {len(rows) - 1} (line {number}) has {count} "
                f"value{'s' * (count != 1)}, expected {len(rows[0])} like row 0"
            )
    if not rows:
        raise ImageFileError(f"{name}: no numbers in the file (an empty matrix)")
    if len(rows) == 1 and len(rows[0]) == 1:
        raise ImageFileError(
            f"{name}: holds a single number; an image needs a matrix, one row per line"
        )
    return np.array(rows, dtype=np.float32)


def _numbers(cells: list[str], row: int, line: int, name: str) -> list[float]:
    values = []
    for column, cell in enumerate(cells):
        try:
            value = float(cell)
        except ValueError:
            if row == 0 and not any(_is_number(c) for c in cells):
                raise ImageFileError(
                    f"{name}: line {line} looks like a header ({', '.join(cells[:3])}); "
                    "remove it, or start it with # to make it a comment"
                ) from None
            shown = repr(cell) if cell else "an empty cell"
            raise ImageFileError(
                f"{name}: row {row} (line {line}), column {column}: {shown} is not a number"
            ) from None
        if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
            word = "NaN" if math.isnan(value) else "a value too large for float32"
            if math.isinf(value):
                word = "Infinity" if value > 0 else "-Infinity"
            raise ImageFileError(
                f"{name}: {word} at row {row} (line {line}), column {column}; "
                "matrix values must be finite"
            )
        values.append(value)
    return values


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def format_text(image: np.ndarray, fmt: str, names: Sequence[str] | None = None) -> bytes:
    """The numbers of ``image`` as a CSV, TSV or aligned TXT matrix (blocks for a stack).

    ``names`` label the maps of an (H, W, K) stack; by default ``map k``.

    >>> print(format_text(np.zeros((1, 2, 2)), "CSV", ["sobel-x", "sobel-y"]).decode(), end="")
    # map 0: sobel-x
    0,0
    <BLANKLINE>
    # map 1: sobel-y
    0,0
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return _matrix(image, fmt).encode()
    count = image.shape[2]
    names = list(names) if names is not None else [f"map {k}" for k in range(count)]
    blocks = [f"# map {k}: {names[k]}\n{_matrix(image[..., k], fmt)}" for k in range(count)]
    return "\n".join(blocks).encode()


def _matrix(values: np.ndarray, fmt: str) -> str:
    cells = [[number_text(v) for v in row] for row in values]
    if fmt in _SEPARATORS:
        return "".join(_SEPARATORS[fmt].join(row) + "\n" for row in cells)
    width = max(len(cell) for row in cells for cell in row)
    return "".join(" ".join(c.rjust(width) for c in row) + "\n" for row in cells)


def number_text(value: float) -> str:
    """``255.0`` -> ``255``, ``-0.0`` -> ``0``, ``1/3`` -> ``0.333333`` (6 significant digits).

    >>> number_text(255.0), number_text(-0.0), number_text(1 / 3), number_text(1e7)
    ('255', '0', '0.333333', '10000000')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
