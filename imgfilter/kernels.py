"""Kernels: the value type, the built-in catalog and JSON kernel files.

A :class:`Kernel` is a small immutable value: a name and a float64 matrix,
2-D (kh, kw) or 3-D (kh, kw, C). A :class:`KernelBank` is several kernels of
one shape, giving one feature map each. :func:`get_kernel` finds a kernel by
name: the built-in catalog first, then ``NAME.json`` in the folders on
``IMGFILTER_KERNEL_PATH``, then a path to a ``.json`` file.

>>> k = get_kernel("sobel-x")
>>> k.matrix
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
>>> get_kernel("box", size=2).matrix
array([[0.25, 0.25],
       [0.25, 0.25]])
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from imgfilter import _checks

__all__ = [
    "MAX_KERNEL_SIDE",
    "CatalogEntry",
    "Kernel",
    "KernelBank",
    "Param",
    "as_kernel_matrix",
    "catalog",
    "catalog_entry",
    "dilate",
    "format_matrix",
    "gaussian_1d",
    "get_kernel",
    "kernel_path_folders",
    "load_kernel",
    "parse_kernel",
]

MAX_KERNEL_SIDE = 1024
"""Largest side of a kernel built from a name or read from a file (and, squared, its size)."""

_MAX_GAUSSIAN_TAPS = 65536
_SEPARABLE_RTOL = 1e-9
_KERNEL_KEYS = ("name", "description", "matrix", "divisor", "normalize", "dilation")
_BANK_KEYS = ("name", "description", "kernels")
_ENV_PATH = "IMGFILTER_KERNEL_PATH"


def _size_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


# ---------------------------------------------------------------------------
# The value types


def as_kernel_matrix(array: Any, name: str = "kernel") -> np.ndarray:
    """Return ``array`` as a new float64 kernel matrix, or say what is wrong with it.

    Parameters
    ----------
    array : array-like of real numbers, 2-D (kh, kw) or 3-D (kh, kw, C), all finite.
    name : what to call the array in error messages.

    Returns
    -------
    numpy.ndarray
        A C-contiguous float64 copy.

    Examples
    --------
    >>> as_kernel_matrix([[0, 1], [2, 3]])
    array([[0., 1.],
           [2., 3.]])
    >>> as_kernel_matrix([[1.0, float("nan")]])
    Traceback (most recent call last):
    ...
    ValueError: kernel has NaN at [0][1]; kernel values must be finite
    """
    if isinstance(array, Kernel):
        return np.array(array.matrix)
    try:
        values = np.asarray(array)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a rectangular array of numbers ({exc})") from None
    if values.dtype.kind not in "iuf":
        hint = "; convert it with .astype(float)" if values.dtype.kind == "b" else ""
        raise TypeError(f"{name} must hold real numbers, got dtype {values.dtype}{hint}")
    if values.ndim not in (2, 3):
        hint = "; write a 1-D row as [[a, b, c]] (1×N)" if values.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (kh, kw) or 3-D (kh, kw, C), got {values.ndim}-D "
            f"shape {values.shape}{hint}"
        )
    if 0 in values.shape:
        raise ValueError(f"{name} has an empty axis: shape {values.shape}")
    matrix = np.array(values, dtype=np.float64, order="C")
    bad = ~np.isfinite(matrix)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = "".join(f"[{i}]" for i in index)
        raise ValueError(
            f"{name} has {_nonfinite_word(matrix[index])} at {where}; kernel values must be finite"
        )
    return matrix


def _nonfinite_word(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


@dataclass(frozen=True, eq=False)
class Kernel:
    """An immutable kernel: a name and a read-only float64 matrix.

    Parameters
    ----------
    name : short name, e.g. ``"sobel-x"``.
    matrix : 2-D (kh, kw) or 3-D (kh, kw, C) real numbers, all finite; stored as a
        read-only float64 copy.
    description : one line for ``imgfilter kernels list``.
    source : ``"built-in"`` or the file it came from.

    Examples
    --------
    >>> k = Kernel("ramp", [[1, 2], [2, 4]])
    >>> k.shape, k.sum, k.is_separable
    ((2, 2), 9.0, True)
    """

    name: str
    matrix: np.ndarray
    description: str = ""
    source: str = "built-in"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"kernel name must be a non-empty string, got {self.name!r}")
        for attribute in ("description", "source"):
            value = getattr(self, attribute)
            if not isinstance(value, str):
                raise TypeError(f"kernel {attribute} must be a string, got {value!r}")
        matrix = as_kernel_matrix(self.matrix, f"kernel {self.name!r}")
        matrix.setflags(write=False)
        object.__setattr__(self, "matrix", matrix)

    @property
    def shape(self) -> tuple[int, ...]:
        """The matrix shape, (kh, kw) or (kh, kw, C)."""
        return self.matrix.shape

    @property
    def sum(self) -> float:
        """The sum of all weights: 1 for a blur, 0 for an edge detector."""
        return float(self.matrix.sum())

    @property
    def is_separable(self) -> bool:
        """True for a 2-D matrix of rank 1 (an outer product of a column and a row)."""
        return self.separable_factors() is not None

    def separable_factors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Return ``(col, row)`` with ``np.outer(col, row) == matrix``, or None if not rank 1.

        ``col`` has kh taps (vertical pass), ``row`` kw taps (horizontal pass).
        3-D kernels are never separable here.

        >>> col, row = get_kernel("box", size=(2, 3)).separable_factors()
        >>> np.allclose(np.outer(col, row), 1 / 6)
        True
        """
        if self.matrix.ndim != 2:
            return None
        return _rank_one_factors(self.matrix)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Kernel):
            return NotImplemented
        return (
            (self.name, self.description, self.source)
            == (other.name, other.description, other.source)
            and self.shape == other.shape
            and bool(np.array_equal(self.matrix, other.matrix))
        )

    def __hash__(self) -> int:
        return hash((self.name, self.shape, self.matrix.tobytes()))

    def __repr__(self) -> str:
        return f"Kernel(name={self.name!r}, shape={self.shape}, source={self.source!r})"


@functools.lru_cache(maxsize=256)
def _factors_cached(key: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    matrix = np.frombuffer(key, dtype=np.float64).reshape(shape)
    u, s, vt = np.linalg.svd(matrix)
    if s.size > 1 and s[1] > _SEPARABLE_RTOL * s[0]:
        return None
    col = u[:, 0] * math.sqrt(s[0])
    row = vt[0] * math.sqrt(s[0])
    # Make the first clearly non-zero tap of the column positive (ties make argmax unstable).
    leading = col[np.abs(col) > 1e-12 * np.abs(col).max()] if s[0] > 0 else col
    if leading[0] < 0:
        col, row = -col, -row
    col, row = col + 0.0, row + 0.0
    col.setflags(write=False)
    row.setflags(write=False)
    return col, row


def _rank_one_factors(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    found = _factors_cached(matrix.tobytes(), matrix.shape)
    return None if found is None else (found[0].copy(), found[1].copy())


@dataclass(frozen=True)
class KernelBank:
    """Several kernels of one shape; the engine gives one feature map per kernel.

    >>> bank = KernelBank("sobel", (get_kernel("sobel-x"), get_kernel("sobel-y")))
    >>> len(bank), bank.shape
    (2, (3, 3))
    """

    name: str
    kernels: tuple[Kernel, ...]
    description: str = ""
    source: str = "built-in"

    def __post_init__(self) -> None:
        kernels = tuple(self.kernels)
        if not kernels:
            raise ValueError(f"kernel bank {self.name!r} is empty: it needs at least one kernel")
        for i, kernel in enumerate(kernels):
            if not isinstance(kernel, Kernel):
                raise TypeError(f"kernel bank {self.name!r}: item {i} is not a Kernel: {kernel!r}")
            if kernel.shape != kernels[0].shape:
                raise ValueError(
                    f"kernel bank {self.name!r}: kernel {i} is {_size_text(kernel.shape)} but "
                    f"kernel 0 is {_size_text(kernels[0].shape)}; all must have one shape"
                )
        object.__setattr__(self, "kernels", kernels)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape shared by every kernel in the bank."""
        return self.kernels[0].shape

    def __len__(self) -> int:
        return len(self.kernels)

    def __iter__(self) -> Iterator[Kernel]:
        return iter(self.kernels)

    def __getitem__(self, index: int) -> Kernel:
        return self.kernels[index]


# ---------------------------------------------------------------------------
# Building blocks shared by the catalog and the JSON reader


def gaussian_1d(sigma: float | None = None, size: int | None = None) -> np.ndarray:
    """Return normalised 1-D Gaussian taps, exp(-x² / 2σ²) / sum, x the offsets from the centre.

    Parameters
    ----------
    sigma : standard deviation in pixels. Alone, it sets radius = int(4σ + 0.5) and
        2·radius + 1 taps, as scipy.ndimage with ``truncate=4``.
    size : number of taps (even is allowed: the taps sit at half-pixel offsets). Alone,
        it sets σ = 0.3·((size - 1)/2 - 1) + 0.8, OpenCV's rule.

    Returns
    -------
    numpy.ndarray
        float64 taps summing to 1, symmetric about the centre.

    Examples
    --------
    >>> gaussian_1d(sigma=0.1)
    array([1.])
    >>> gaussian_1d(size=2)
    array([0.5, 0.5])
    """
    if sigma is None and size is None:
        raise ValueError("gaussian needs sigma, size or both")
    if sigma is not None:
        sigma = _checks.positive("sigma", sigma)
    if size is not None:
        size = _checks.positive_int("size", size)
    elif int(4.0 * sigma + 0.5) * 2 + 1 > _MAX_GAUSSIAN_TAPS:
        raise ValueError(
            f"gaussian sigma={sigma:g} needs more than {_MAX_GAUSSIAN_TAPS} taps; "
            "give a smaller sigma"
        )
    else:
        size = 2 * int(4.0 * sigma + 0.5) + 1
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    z = ((np.arange(size) - (size - 1) / 2) / sigma) ** 2
    # Subtracting the smallest exponent keeps the centre taps at 1, so a tiny sigma
    # with an even size cannot underflow every tap to 0.
    taps = np.exp(-0.5 * (z - z.min()))
    return taps / taps.sum()


def dilate(matrix: Any, rate: int | tuple[int, int]) -> np.ndarray:
    """Return ``matrix`` with ``rate - 1`` zeros inserted between neighbouring taps.

    A kh×kw kernel at rate (ry, rx) becomes (ry·(kh-1)+1)×(rx·(kw-1)+1); 3-D kernels
    are dilated along the two spatial axes only.

    >>> dilate(np.ones((2, 2)), 2)
    array([[1., 0., 1.],
           [0., 0., 0.],
           [1., 0., 1.]])
    """
    matrix = as_kernel_matrix(matrix)
    ry, rx = _checks.pair("rate", rate)
    kh, kw = matrix.shape[:2]
    out = np.zeros((ry * (kh - 1) + 1, rx * (kw - 1) + 1) + matrix.shape[2:])
    out[::ry, ::rx] = matrix
    return out


def _check_side(what: str, shape: tuple[int, ...]) -> None:
    if max(shape) > MAX_KERNEL_SIDE:
        raise ValueError(
            f"{what} would be {_size_text(shape)}, larger than the limit of "
            f"{MAX_KERNEL_SIDE} per side"
        )


def format_matrix(matrix: Any, divisor: float | None = None) -> str:
    """Return ``matrix`` as an aligned text grid, prefixed by ``1/divisor ×`` if given.

    A 3-D matrix is shown one channel at a time.

    >>> print(format_matrix([[1, 2, 1], [2, 4, 2], [1, 2, 1]], divisor=16))
    1/16 ×
    [[1, 2, 1],
     [2, 4, 2],
     [1, 2, 1]]
    """
    values = np.asarray(matrix, dtype=np.float64)
    prefix = "" if divisor is None or divisor == 1 else f"1/{_number_text(divisor)} ×\n"
    if values.ndim == 3:
        blocks = [f"channel {c}:\n{_grid(values[:, :, c])}" for c in range(values.shape[2])]
        return prefix + "\n".join(blocks)
    return prefix + _grid(values)


def _number_text(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def _grid(values: np.ndarray) -> str:
    cells = [[_number_text(v) for v in row] for row in values]
    width = max(len(cell) for row in cells for cell in row)
    lines = ["[" + ", ".join(cell.rjust(width) for cell in row) + "]" for row in cells]
    return "[" + ",\n ".join(lines) + "]"


# ---------------------------------------------------------------------------
# JSON kernels


class _Fault(Exception):
    """A problem in a kernel file, without the path (added by :func:`parse_kernel`)."""


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=True)[:40]
    except (TypeError, ValueError):
        return repr(value)[:40]


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number")


def _unknown_key(key: str, allowed: tuple[str, ...]) -> _Fault:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _Fault(f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}")


def load_kernel(path: str | os.PathLike) -> Kernel | KernelBank:
    """Read a kernel (or a bank) from a JSON file, refusing every malformed file.

    Parameters
    ----------
    path : the ``.json`` file.

    Returns
    -------
    Kernel or KernelBank
        A bank when the file holds ``{"kernels": [...]}``.

    Raises
    ------
    ValueError
        The message starts with the path and names the fault, e.g.
        ``"k.json: ragged matrix: row 2 has 2 values, expected 3 like row 0"``.
    """
    source = os.fspath(path)
    try:
        raw = Path(source).read_bytes()
    except OSError as exc:
        raise ValueError(f"{source}: cannot read kernel file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{source}: not a JSON kernel file (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return parse_kernel(data, source)


def parse_kernel(data: Any, source: str) -> Kernel | KernelBank:
    """Build a kernel or a bank from parsed JSON ``data``; ``source`` names it in errors.

    Parameters
    ----------
    data : ``{"matrix": ..., "divisor": ..., ...}`` or ``{"kernels": [...]}``.
    source : the file path (or any label) that starts every error message.

    Examples
    --------
    >>> parse_kernel({"name": "avg", "matrix": [[1, 1], [1, 1]], "divisor": 4}, "avg.json").matrix
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> parse_kernel({"matrix": [[1, 2], [3]]}, "bad.json")
    Traceback (most recent call last):
    ...
    ValueError: bad.json: ragged matrix: row 1 has 1 value, expected 2 like row 0
    """
    default_name = Path(source).stem or "kernel"
    try:
        if not isinstance(data, dict):
            raise _Fault(
                "expected a JSON object with a 'matrix' (a kernel) or 'kernels' (a bank), "
                f"got {_json_kind(data)}"
            )
        if "kernels" in data:
            return _parse_bank(data, source, default_name)
        return _parse_one(data, source, default_name, in_bank=False)
    except _Fault as fault:
        raise ValueError(f"{source}: {fault}") from None


def _parse_text_field(data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (key == "name" and not value.strip()):
        raise _Fault(f"{key!r} must be a non-empty string, got {_json_text(value)}")
    return value


def _parse_bank(data: dict, source: str, default_name: str) -> KernelBank:
    if "matrix" in data:
        raise _Fault("a file holds either 'matrix' (one kernel) or 'kernels' (a bank), not both")
    for key in data:
        if key not in _BANK_KEYS:
            raise _unknown_key(key, _BANK_KEYS)
    name = _parse_text_field(data, "name", default_name)
    description = _parse_text_field(data, "description", "")
    items = data["kernels"]
    if not isinstance(items, list):
        raise _Fault(f"'kernels' must be a list of kernel objects, got {_json_kind(items)}")
    if not items:
        raise _Fault("'kernels' is empty: a bank needs at least one kernel")
    kernels = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise _Fault(f"must be a kernel object with a 'matrix', got {_json_kind(item)}")
            kernel = _parse_one(item, source, f"{name}[{i}]", in_bank=True)
        except _Fault as fault:
            raise _Fault(f"kernels[{i}]: {fault}") from None
        if kernels and kernel.shape != kernels[0].shape:
            raise _Fault(
                f"kernels[{i}] is {_size_text(kernel.shape)} but kernels[0] is "
                f"{_size_text(kernels[0].shape)}; every kernel in a bank must have one shape"
            )
        kernels.append(kernel)
    return KernelBank(name, tuple(kernels), description, source)


def _parse_one(data: dict, source: str, default_name: str, *, in_bank: bool) -> Kernel:
    for key in data:
        if key == "kernels" and in_bank:
            raise _Fault("banks cannot be nested: an item of 'kernels' needs a 'matrix'")
        if key not in _KERNEL_KEYS:
            raise _unknown_key(key, _KERNEL_KEYS)
    if "matrix" not in data:
        bank = "" if in_bank else " (or 'kernels' for a bank)"
        raise _Fault(f"missing required key 'matrix'{bank}")
    name = _parse_text_field(data, "name", default_name)
    description = _parse_text_field(data, "description", "")
    matrix = _parse_matrix(data["matrix"])
    if "divisor" in data:
        divisor = data["divisor"]
        if isinstance(divisor, bool) or not isinstance(divisor, (int, float)):
            raise _Fault(f"divisor must be a number, got {_json_text(divisor)}")
        if not math.isfinite(divisor):
            raise _Fault(f"divisor must be finite, got {_json_text(divisor)}")
        if divisor == 0:
            raise _Fault("divisor must not be 0")
        matrix = matrix / divisor
    normalize = data.get("normalize", False)
    if not isinstance(normalize, bool):
        raise _Fault(f"normalize must be true or false, got {_json_text(normalize)}")
    if normalize:
        total = matrix.sum()
        if abs(total) <= 1e-12 * np.abs(matrix).sum():
            raise _Fault(
                "normalize is true but the matrix sums to 0 (an edge detector?); "
                "remove normalize or use divisor"
            )
        matrix = matrix / total
    if "dilation" in data:
        try:
            rate = _checks.pair("dilation", data["dilation"])
        except (TypeError, ValueError) as exc:
            raise _Fault(str(exc)) from None
        shape = (rate[0] * (matrix.shape[0] - 1) + 1, rate[1] * (matrix.shape[1] - 1) + 1)
        if max(shape) > MAX_KERNEL_SIDE:
            raise _Fault(
                f"dilation {_json_text(data['dilation'])} makes the kernel {_size_text(shape)}, "
                f"larger than the limit of {MAX_KERNEL_SIDE} per side"
            )
        matrix = dilate(matrix, rate)
    return Kernel(name, matrix, description, source)


def _parse_matrix(value: Any) -> np.ndarray:
    if not isinstance(value, list):
        raise _Fault(
            f"'matrix' must be a list of rows such as [[0, 1], [2, 3]], got {_json_kind(value)}"
        )
    if not value:
        raise _Fault("matrix is empty")
    first = value[0]
    if not isinstance(first, list):
        raise _Fault(
            f"'matrix' must be a list of rows, but matrix[0] is {_json_kind(first)}; "
            "write a 1×N kernel as [[a, b, c]]"
        )
    if not first:
        raise _Fault("matrix row 0 is empty")
    is_3d = isinstance(first[0], list)
    height, width = len(value), len(first)
    depth = len(first[0]) if is_3d else None
    if is_3d and depth == 0:
        raise _Fault("matrix[0][0] is empty: a 3-D kernel needs at least one channel weight")
    shape = (height, width) if depth is None else (height, width, depth)
    if max(shape) > MAX_KERNEL_SIDE or math.prod(shape) > MAX_KERNEL_SIDE**2:
        raise _Fault(
            f"matrix is {_size_text(shape)}, larger than the limit of {MAX_KERNEL_SIDE} per "
            f"side ({MAX_KERNEL_SIDE}×{MAX_KERNEL_SIDE} values in all); that is not a "
            "plausible kernel"
        )
    out = np.empty(shape, dtype=np.float64)
    for i, row in enumerate(value):
        if not isinstance(row, list):
            raise _Fault(f"matrix row {i} must be a list, got {_json_kind(row)}")
        if not row:
            raise _Fault(f"matrix row {i} is empty")
        if len(row) != width:
            plural = "value" if len(row) == 1 else "values"
            raise _Fault(
                f"ragged matrix: row {i} has {len(row)} {plural}, expected {width} like row 0"
            )
        for j, item in enumerate(row):
            if not is_3d:
                if isinstance(item, list):
                    raise _Fault(
                        f"matrix[{i}][{j}] is a list but matrix[0][0] is a number; "
                        "every entry of a 2-D kernel is a number"
                    )
                out[i, j] = _parse_value(item, f"[{i}][{j}]")
                continue
            if not isinstance(item, list):
                raise _Fault(
                    f"matrix[{i}][{j}] is {_json_kind(item)} but matrix[0][0] is a list; "
                    "every entry of a 3-D kernel is a list of channel weights"
                )
            if len(item) != depth:
                raise _Fault(
                    f"ragged depth: matrix[{i}][{j}] has {len(item)} channel weights, "
                    f"expected {depth} like matrix[0][0]"
                )
            for c, number in enumerate(item):
                if isinstance(number, list):
                    raise _Fault(
                        f"matrix is nested more than 3 levels deep at [{i}][{j}][{c}]; a kernel "
                        "is 2-D (rows of numbers) or 3-D (rows of lists of channel weights)"
                    )
                out[i, j, c] = _parse_value(number, f"[{i}][{j}][{c}]")
    return out


def _parse_value(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Fault(f"value at {where} is not a number: {_json_text(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _Fault(f"value at {where} is too large: {value}") from None
    if not math.isfinite(number):
        raise _Fault(f"{_nonfinite_word(number)} at {where}; kernel values must be finite")
    return number


# ---------------------------------------------------------------------------
# The catalog


@dataclass(frozen=True)
class Param:
    """One parameter of a catalog kernel: its type, default, help and validator.

    ``check(name, value)`` is one of the :mod:`imgfilter._checks` functions (or alike):
    it returns the normalised value or raises with the shared wording.
    """

    name: str
    type: str
    default: Any
    help: str
    check: Callable[[str, Any], Any] = field(repr=False)
    required: bool = False

    def validate(self, value: Any) -> Any:
        """Return ``value`` checked and normalised (``3`` -> ``(3, 3)`` for a pair)."""
        return self.check(self.name, value)

    def parse(self, text: str) -> Any:
        """Convert command-line text (``"2"``, ``"1.5"``, ``"3,5"``, ``"sobel-x"``) and validate."""
        return self.validate(_value_from_text(text))


def _value_from_text(text: str) -> Any:
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    parts = text.replace("x", ",").replace("(", "").replace(")", "").split(",")
    if len(parts) == 2:
        try:
            return tuple(float(p) if "." in p else int(p) for p in parts)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class CatalogEntry:
    """A built-in kernel: its name, parameters, exact definition and builder.

    ``definition`` is the text ``imgfilter kernels show`` prints: the matrix as written
    (integers over a divisor) for a fixed kernel, the formula for a parametric one.
    """

    name: str
    description: str
    params: Mapping[str, Param]
    source: str
    definition: str
    builder: Callable[..., Kernel | KernelBank] = field(repr=False)

    def build(self, **params: Any) -> Kernel | KernelBank:
        """Validate ``params`` and return the kernel.

        >>> catalog_entry("box").build(size=1).matrix
        array([[1.]])
        """
        for key in params:
            if key in self.params:
                continue
            if not self.params:
                raise ValueError(
                    f"kernel {self.name!r} takes no parameters, got {', '.join(map(str, params))}"
                )
            close = difflib.get_close_matches(str(key), list(self.params), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"kernel {self.name!r} has no parameter {key!r}{hint}; "
                f"its parameters: {', '.join(self.params)}"
            )
        values = {}
        for param in self.params.values():
            if params.get(param.name) is not None:
                values[param.name] = param.validate(params[param.name])
            elif param.required:
                raise ValueError(f"kernel {self.name!r} needs {param.name}=...: {param.help}")
            else:
                default = param.default
                values[param.name] = None if default is None else param.validate(default)
        label = self.name
        if any(params.get(k) is not None for k in self.params):
            shown = {k: params.get(k, self.params[k].default) for k in self.params}
            label += (
                "("
                + ", ".join(f"{k}={_param_text(v)}" for k, v in shown.items() if v is not None)
                + ")"
            )
        return self.builder(label, **values)


def _param_text(value: Any) -> str:
    if isinstance(value, (Kernel, KernelBank)):
        return value.name
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and value[0] == value[1]:
            return _param_text(value[0])
        return ",".join(_param_text(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def _check_odd_size(name: str, value: Any) -> int:
    size = _checks.positive_int(name, value)
    if size % 2 == 0:
        raise ValueError(f"{name} must be odd, got {size}")
    return size


def _check_base(name: str, value: Any) -> Any:
    if isinstance(value, (Kernel, KernelBank)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a kernel name or a path to a .json file, got {value!r}")
    return value


_int_pair = functools.partial(_checks.pair, convert=_checks.positive_int)
_float_pair = functools.partial(_checks.pair, convert=_checks.positive)


def _build_identity(label: str, size: int) -> Kernel:
    _check_side("identity kernel", (size, size))
    matrix = np.zeros((size, size))
    matrix[size // 2, size // 2] = 1.0
    return Kernel(label, matrix, "Returns the image unchanged.")


def _build_box(label: str, size: tuple[int, int]) -> Kernel:
    _check_side("box kernel", size)
    return Kernel(label, np.full(size, 1.0 / (size[0] * size[1])), "Mean of the window.")


def _build_gaussian(label: str, sigma: Any, size: Any) -> Kernel:
    sigma = (None, None) if sigma is None else sigma
    size = (None, None) if size is None else size
    if sigma == (None, None) and size == (None, None):
        sigma = (1.0, 1.0)
    taps = []
    for s, n in zip(sigma, size, strict=True):
        if n is None and int(4.0 * s + 0.5) * 2 + 1 > MAX_KERNEL_SIDE:
            raise ValueError(
                f"gaussian sigma={s:g} would need more than {MAX_KERNEL_SIDE} taps per side, "
                f"the limit for a 2-D kernel; use a smaller sigma (or the gaussian operation)"
            )
        if n is not None:
            _check_side("gaussian kernel", (n,))
        taps.append(gaussian_1d(s, n))
    matrix = np.outer(taps[0], taps[1])
    return Kernel(label, matrix, "Sampled Gaussian blur, normalised to sum 1.")


def _build_dilated(label: str, base: Any, rate: tuple[int, int]) -> Kernel | KernelBank:
    if isinstance(base, str):
        base = get_kernel(base)
    kernels = base.kernels if isinstance(base, KernelBank) else (base,)
    kh, kw = kernels[0].shape[:2]
    _check_side(f"{base.name} at rate {rate}", (rate[0] * (kh - 1) + 1, rate[1] * (kw - 1) + 1))
    dilated = tuple(
        Kernel(
            label if len(kernels) == 1 else f"{label}[{i}]",
            dilate(k.matrix, rate),
            f"{k.name} with gaps: {k.description}".rstrip(": "),
            k.source,
        )
        for i, k in enumerate(kernels)
    )
    if isinstance(base, KernelBank):
        return KernelBank(label, dilated, base.description, base.source)
    return dilated[0]


def _parametric_entries() -> list[CatalogEntry]:
    def entry(name, description, definition, builder, *params):
        mapping = MappingProxyType({p.name: p for p in params})
        return CatalogEntry(name, description, mapping, "built-in", definition, builder)

    return [
        entry(
            "identity",
            "Returns the image unchanged: 1 at the centre.",
            "A size×size grid of zeros with 1 at the centre (size odd).",
            _build_identity,
            Param("size", "odd int", 3, "side of the square kernel", _check_odd_size),
        ),
        entry(
            "box",
            "Box (mean) blur: every weight 1/size².",
            "Every weight 1/(h·w) on an h×w grid; size=3 gives 1/9 × the 3×3 grid of ones.",
            _build_box,
            Param("size", "int or (h, w)", 3, "window side, or (height, width)", _int_pair),
        ),
        entry(
            "gaussian",
            "Sampled Gaussian blur, normalised; separable.",
            "g(x) = exp(-x² / 2σ²) at each tap offset x from the centre, divided by the sum;\n"
            "the 2-D kernel is the outer product of the column and row taps.\n"
            "sigma only: radius = int(4σ + 0.5), 2·radius + 1 taps (scipy's truncate=4).\n"
            "size only: σ = 0.3·((size - 1)/2 - 1) + 0.8 (OpenCV's rule).\n"
            "Neither: sigma = 1. An even size puts the taps at half-pixel offsets.",
            _build_gaussian,
            Param(
                "sigma",
                "float or (sy, sx)",
                None,
                "standard deviation in pixels; 1 if size is not given either",
                _float_pair,
            ),
            Param(
                "size",
                "int or (h, w)",
                None,
                "number of taps per side; from sigma if not given",
                _int_pair,
            ),
        ),
        entry(
            "dilated",
            "Any kernel with gaps between its taps (atrous).",
            "The base kernel with rate - 1 zeros between neighbouring taps: a k×k kernel\n"
            "at rate r covers r·(k - 1) + 1 pixels per side (3×3 at rate 2 -> 5×5).",
            _build_dilated,
            Param(
                "base",
                "kernel name or path",
                None,
                "the kernel to dilate: a catalog name or a .json file",
                _check_base,
                required=True,
            ),
            Param("rate", "int or (ry, rx)", 2, "dilation rate, >= 1", _int_pair),
        ),
    ]


_ORDER = (
    "identity",
    "box",
    "gaussian",
    "gaussian3",
    "gaussian5",
    "sobel-x",
    "sobel-y",
    "prewitt-x",
    "prewitt-y",
    "scharr-x",
    "scharr-y",
    "laplacian",
    "laplacian8",
    "edge",
    "horizontal-lines",
    "sharpen",
    "emboss",
    "dilated",
)


def _builtin_folder():
    """The folder of fixed-kernel JSON files: inside the installed package, else the checkout."""
    try:
        folder = importlib.resources.files("imgfilter") / "builtin_kernels"
        if folder.is_dir():
            return folder
    except (ImportError, OSError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "kernels"


def _fixed_entry(folder_item) -> CatalogEntry:
    source = str(folder_item)
    data = json.loads(folder_item.read_text(encoding="utf-8"))
    kernel = parse_kernel(data, source)
    kernel = Kernel(kernel.name, kernel.matrix, kernel.description, "built-in")
    definition = format_matrix(data["matrix"], data.get("divisor"))
    if data.get("normalize"):
        definition += "\nnormalised to sum 1"

    def builder(label: str) -> Kernel:
        return kernel

    return CatalogEntry(
        kernel.name, kernel.description, MappingProxyType({}), source, definition, builder
    )


@functools.lru_cache(maxsize=1)
def _entries() -> dict[str, CatalogEntry]:
    found = {e.name: e for e in _parametric_entries()}
    for item in _builtin_folder().iterdir():
        if item.name.endswith(".json"):
            entry = _fixed_entry(item)
            found[entry.name] = entry
    rank = {name: i for i, name in enumerate(_ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def catalog() -> list[CatalogEntry]:
    """Return every built-in kernel, in the order ``imgfilter kernels list`` shows them.

    >>> [e.name for e in catalog()][:3]
    ['identity', 'box', 'gaussian']
    """
    return list(_entries().values())


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def kernel_path_folders() -> list[Path]:
    """The folders on ``IMGFILTER_KERNEL_PATH``, in lookup order (missing ones included)."""
    return [Path(p) for p in os.environ.get(_ENV_PATH, "").split(os.pathsep) if p]


def _unknown_name(name: str) -> ValueError:
    names = list(_entries())
    for folder in kernel_path_folders():
        if folder.is_dir():
            names += [p.stem for p in folder.glob("*.json")]
    close = difflib.get_close_matches(_canonical(name), names, n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return ValueError(
        f"unknown kernel {name!r}{hint}; run `imgfilter kernels list` to see the built-in "
        "kernels, or give a path to a .json file"
    )


def catalog_entry(name: str) -> CatalogEntry:
    """Return the built-in entry called ``name`` (case and ``_``/``-`` do not matter)."""
    if not isinstance(name, str):
        raise TypeError(f"kernel name must be a string, got {name!r}")
    entry = _entries().get(_canonical(name))
    if entry is None:
        raise _unknown_name(name)
    return entry


def get_kernel(name: str | os.PathLike, **params: Any) -> Kernel | KernelBank:
    """Return the kernel called ``name``, built with ``params``.

    Lookup order: the built-in catalog; ``NAME.json`` in each folder on
    ``IMGFILTER_KERNEL_PATH`` (separated by ``os.pathsep``); a path to a ``.json`` file.
    A file never shadows a built-in name.

    Parameters
    ----------
    name : catalog name (``"gaussian"``), kernel-path name, or path to a ``.json`` file.
    **params : the catalog kernel's parameters, e.g. ``sigma=2`` for ``gaussian``.

    Examples
    --------
    >>> get_kernel("gaussian3").matrix * 16
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> get_kernel("dilated", base="box", rate=2).shape
    (5, 5)
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"kernel name must be a non-empty string or a path, got {name!r}")
    entry = _entries().get(_canonical(name))
    if entry is not None:
        return entry.build(**params)
    path = None
    if name.lower().endswith(".json"):
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"{name}: no such kernel file")
    elif "/" not in name and os.sep not in name:
        for folder in kernel_path_folders():
            candidate = folder / f"{name}.json"
            if candidate.is_file():
                path = candidate
                break
    if path is None:
        raise _unknown_name(name)
    if params:
        raise ValueError(
            f"{path}: a kernel file takes no parameters, got {', '.join(map(str, params))}"
        )
    return load_kernel(path)
