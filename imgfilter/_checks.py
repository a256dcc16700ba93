"""Argument checks shared by every public function, with one wording.

Every message names the argument, says what was expected and what came in::

    >>> positive("sigma", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable
from typing import Any


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) or _is_numpy_scalar(value)
    )


def _is_numpy_scalar(value: Any) -> bool:
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return getattr(value, "ndim", None) == 0 and kind in ("i", "u", "f")


def number(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise TypeError/ValueError naming ``name``."""
    if not _is_number(value):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def integer(name: str, value: Any) -> int:
    """Return ``value`` as an int; floats with a fraction, bools and strings are refused."""
    if isinstance(value, bool) or not _is_number(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if float(value) != int(value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    value = number(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    value = number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def positive_int(name: str, value: Any) -> int:
    """An integer >= 1."""
    value = integer(name, value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def in_range(name: str, value: Any, low: float, high: float) -> float:
    """A finite number in the closed interval [low, high]."""
    value = number(name, value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return value


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    """One of ``options`` (case-sensitive, as listed)."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def pair(name: str, value: Any, convert=positive_int) -> tuple:
    """A scalar or a 2-sequence, each item checked by ``convert``: ``2`` -> ``(2, 2)``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a single value or a pair (y, x), got {value!r}")
        return (convert(f"{name}[0]", value[0]), convert(f"{name}[1]", value[1]))
    item = convert(name, value)
    return (item, item)


def image_array(value: Any, name: str = "image"):
    """A float32 (H, W) or (H, W, C) array, non-empty, of real numbers.

    numpy is imported here, not at the top, so that command-line help stays fast.
    """
    import numpy as np

    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ValueError(
            f"{name} must be a non-empty 2-D (H, W) or 3-D (H, W, C) array,"
            f" got {array.ndim}-D shape {array.shape}"
        )
    return array.astype(np.float32, copy=False)


# --- shared wordings ------------------------------------------------------------------


def size_text(shape: Iterable[int]) -> str:
    """A shape as users read it, height first: ``(512, 768, 3)`` -> ``512×768×3``.

    >>> size_text((512, 768, 3))
    '512×768×3'
    """
    return "×".join(str(int(n)) for n in shape)


def did_you_mean(word: str, known: Iterable[str], n: int = 1) -> str:
    """The hint after an unknown name: ``" (did you mean 'sobel-x'?)"``, or ``""``.

    >>> did_you_mean("gausian", ["gaussian", "box"])
    " (did you mean 'gaussian'?)"
    """
    close = difflib.get_close_matches(str(word), list(known), n=n)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"


def file_problem(path: str | os.PathLike, error: OSError, what: str = "file") -> str:
    """One wording per file fault: ``"k.json: no such file"``, ``"x: is a directory, ..."``.

    ``what`` names the kind of file expected (``"kernel file"``, ``"image file"``).

    >>> file_problem("k.json", FileNotFoundError(2, "No such file or directory"))
    'k.json: no such file'
    >>> file_problem("photos", IsADirectoryError(21, "Is a directory"), "image file")
    'photos: is a directory, not an image file'
    """
    path = os.fspath(path)
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a directory, not {_article(what)} {what}"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read: {error.strerror or error}"


def json_problem(source: str | os.PathLike, error) -> str:
    """The wording of a JSON syntax error: ``"p.json: invalid JSON at line 3, column 7: ..."``."""
    return (
        f"{os.fspath(source)}: invalid JSON at line {error.lineno}, column {error.colno}:"
        f" {error.msg}"
    )


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
