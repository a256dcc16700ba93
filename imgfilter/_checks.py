"""Argument checks shared by every public function, with one wording.

Every message names the argument, says what was expected and what came in::

    >>> positive("sigma", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import difflib
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

MAX_JSON_DEPTH = 32
"""How deeply a kernel or pipeline file may nest lists and objects (a 3-D kernel bank
needs 6 levels)."""


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) or _is_numpy_scalar(value)
    )


def _is_numpy_scalar(value: Any) -> bool:
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return getattr(value, "ndim", None) == 0 and kind in ("i", "u", "f")


def shown(value: Any) -> str:
    """``value`` as an error message shows it: short, even for a 5000-digit integer.

    >>> shown(10**400), shown("x" * 100)[-5:]
    ('an integer of 401 digits', 'xx...')
    """
    if isinstance(value, int) and abs(value).bit_length() > 128:
        digits = int(abs(value).bit_length() * math.log10(2))
        digits += abs(value) >= 10**digits
        return f"an integer of {digits} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def number(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise TypeError/ValueError naming ``name``."""
    if not _is_number(value):
        raise TypeError(f"{name} must be a number, got {shown(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be below 1.8e308, got {shown(value)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def integer(name: str, value: Any) -> int:
    """Return ``value`` as an int; floats with a fraction, bools and strings are refused.

    >>> integer("size", 3.0), integer("seed", 10**30)
    (3, 1000000000000000000000000000000)
    """
    if isinstance(value, bool) or not _is_number(value):
        raise TypeError(f"{name} must be an integer, got {shown(value)}")
    if isinstance(value, int) or getattr(getattr(value, "dtype", None), "kind", "f") in "iu":
        return int(value)
    value = float(value)
    if not value.is_integer():
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
        raise ValueError(f"{name} must be >= 1, got {shown(value)}")
    return value


def in_range(name: str, value: Any, low: float, high: float) -> float:
    """A finite number in the closed interval [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {shown(value)}")
    value = number(name, value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return value


def choice(
    name: str, value: Any, options: Iterable[str], hints: Mapping[str, str] | None = None
) -> str:
    """One of ``options`` (case-sensitive, as listed).

    ``hints`` maps words of other tools to a pointer at ours; they are never accepted.

    >>> choice("border", "replicate", ["edge"], {"replicate": "OpenCV's REPLICATE is 'edge'"})
    Traceback (most recent call last):
    ...
    ValueError: border must be one of edge; got 'replicate' (OpenCV's REPLICATE is 'edge')
    """
    options = list(options)
    if isinstance(value, str) and value in options:
        return value
    hint = ""
    if isinstance(value, str) and hints:
        word = hints.get(value.strip().lower().replace("_", "-"))
        hint = f" ({word})" if word else ""
    raise ValueError(f"{name} must be one of {', '.join(options)}; got {shown(value)}{hint}")


def pair(name: str, value: Any, convert=positive_int) -> tuple:
    """A scalar or a 2-sequence, each item checked by ``convert``: ``2`` -> ``(2, 2)``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a single value or a pair (y, x), got {shown(value)}")
        return (convert(f"{name}[0]", value[0]), convert(f"{name}[1]", value[1]))
    item = convert(name, value)
    return (item, item)


def shape_tuple(name: str, value: Any) -> tuple[int, ...]:
    """A shape (H, W) or (H, W, C) of positive integers.

    >>> shape_tuple("image_shape", (5,))
    Traceback (most recent call last):
    ...
    ValueError: image_shape must be (H, W) or (H, W, C), got (5,)
    """
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a tuple (H, W) or (H, W, C), got {shown(value)}")
    if len(value) not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (H, W, C), got {shown(tuple(value))}")
    sizes = tuple(positive_int(f"{name}[{i}]", n) for i, n in enumerate(value))
    return sizes


def image_array(value: Any, name: str = "image", keep_bytes: bool = False):
    """A float32 (H, W) or (H, W, C) array, non-empty, of real numbers; with
    ``keep_bytes`` a uint8 array stays as it is (its values are the same numbers).

    numpy is imported here, not at the top, so that command-line help stays fast.
    """
    import numpy as np

    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise ValueError(f"{name} must be a rectangular array of numbers") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ValueError(
            f"{name} must be a non-empty 2-D (H, W) or 3-D (H, W, C) array,"
            f" got {array.ndim}-D shape {array.shape}"
        )
    if keep_bytes and array.dtype == np.uint8:
        return array
    with np.errstate(over="ignore"):  # beyond float32 is inf, as numpy casts it
        return array.astype(np.float32, copy=False)


# --- shared wordings ------------------------------------------------------------------


def size_text(shape: Iterable[int]) -> str:
    """A shape as users read it, height first: ``(512, 768, 3)`` -> ``512×768×3``.

    >>> size_text((512, 768, 3))
    '512×768×3'
    """
    return "×".join(shown(int(n)) for n in shape)


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


def parse_json(text: str, source: str | os.PathLike) -> Any:
    """Parsed JSON ``text``, every fault a ValueError starting with ``source``.

    Syntax errors, nesting deeper than :data:`MAX_JSON_DEPTH` and numbers with more
    digits than Python reads are all named with the file.

    >>> parse_json("[" * 40 + "]" * 40, "deep.json")
    Traceback (most recent call last):
    ...
    ValueError: deep.json: JSON nested deeper than 32 levels
    """
    source = os.fspath(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(json_problem(source, error)) from None
    except RecursionError:
        raise ValueError(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise ValueError(
            f"{source}: a number has more than {sys.get_int_max_str_digits()} digits"
        ) from None
    check_depth(data, source)
    return data


def check_depth(data: Any, source: str) -> None:
    """Refuse lists and dicts nested deeper than :data:`MAX_JSON_DEPTH` (no recursion).

    >>> check_depth({"matrix": [[1, 2]]}, "k.json")  # 3 levels: fine
    """
    level = [data]
    for depth in range(MAX_JSON_DEPTH + 1):
        containers = [value for value in level if isinstance(value, (list, tuple, dict))]
        if not containers:
            return
        if depth == MAX_JSON_DEPTH:
            raise ValueError(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
        level = [
            item
            for value in containers
            for item in (value.values() if isinstance(value, dict) else value)
        ]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
