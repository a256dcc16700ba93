"""Argument checks shared by every public function, with one wording.

Every message names the argument, says what was expected and what came in::

    >>> positive("sigma", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import math
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
