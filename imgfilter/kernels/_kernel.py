"""The kernel values: :class:`Kernel`, :class:`KernelBank`, and what is computed from them.

A :class:`Kernel` is a small immutable value: a name and a float64 matrix, 2-D (kh, kw)
or 3-D (kh, kw, C). A :class:`KernelBank` is several kernels of one shape, giving one
feature map each. :func:`separable_factors` is the one rank-1 test: the engine's
strategy, ``Kernel.is_separable``, ``imgfilter kernels show`` and ``--explain`` all ask it.

>>> k = Kernel("ramp", [[1, 2], [2, 4]])
>>> k.shape, k.sum, k.is_separable
((2, 2), 9.0, True)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from imgfilter import _checks
from imgfilter._checks import shown, size_text
from imgfilter.params import MAX_WINDOW

MAX_KERNEL_SIDE = MAX_WINDOW
"""Largest side of a kernel built from a name or read from a file (and, squared, its size)."""

SEPARABLE_RTOL = 1e-9
"""Relative tolerance of the rank-1 test: outer(column, row) must match every weight."""

_MAX_GAUSSIAN_TAPS = 65536
# Kernels whose weights are integer multiples of their smallest weight, with multiples
# up to this, are factored into integers (sobel-x: [1, 2, 1] × [-1, 0, 1]).
_MAX_INTEGER_WEIGHT = 1 << 20


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
            raise TypeError(f"kernel name must be a non-empty string, got {shown(self.name)}")
        for attribute in ("description", "source"):
            value = getattr(self, attribute)
            if not isinstance(value, str):
                raise TypeError(f"kernel {attribute} must be a string, got {shown(value)}")
        matrix = as_kernel_matrix(self.matrix, f"kernel {shown(self.name)}")
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
        """True when the engine runs it as two 1-D passes (see :func:`separable_factors`)."""
        return self.separable_factors() is not None

    def separable_factors(self) -> Factors | None:
        """``scale · outer(column, row) == matrix``, or None; see :func:`separable_factors`.

        >>> Kernel("box", np.full((2, 3), 1 / 6)).separable_factors()
        Factors(column=array([1., 1.]), row=array([1., 1., 1.]), scale=0.16666666666666666)
        """
        return separable_factors(self.matrix)

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

    @property
    def spec(self) -> str:
        """How to name this kernel again: its file, or its name in the catalog."""
        return self.name if self.source == "built-in" else self.source

    def __repr__(self) -> str:
        return f"Kernel(name={self.name!r}, shape={self.shape}, source={self.source!r})"


class Factors(NamedTuple):
    """A rank-1 kernel as ``scale · outer(column, row)``, in the kernel's own numbers.

    ``column`` has kh taps (the vertical pass), ``row`` kw taps (the horizontal pass).
    """

    column: np.ndarray
    row: np.ndarray
    scale: float = 1.0


def separable_factors(matrix: Any) -> Factors | None:
    """The one rank-1 test: ``matrix = scale · outer(column, row)``, or None.

    A 2-D matrix with at least two rows and two columns is rank 1 when the outer
    product of one of its columns and one of its rows (through its largest weight)
    matches every weight to a relative ``SEPARABLE_RTOL``. A kernel whose weights are
    integer multiples of its smallest one is factored in integers over a common scale,
    the first non-zero tap of the column positive; any other keeps the matrix's own row.

    >>> separable_factors([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    Factors(column=array([1., 2., 1.]), row=array([-1.,  0.,  1.]), scale=1.0)
    >>> separable_factors(np.outer([1, 2, 1], [1, 2, 1]) / 16).scale
    0.0625
    >>> separable_factors([[1, 0], [0, 1]]) is None
    True
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        return None
    return _factors_cached(np.ascontiguousarray(matrix).tobytes(), matrix.shape)


@functools.lru_cache(maxsize=256)
def _factors_cached(key: bytes, shape: tuple[int, int]) -> Factors | None:
    matrix = np.frombuffer(key, dtype=np.float64).reshape(shape)
    i, j = np.unravel_index(np.argmax(np.abs(matrix)), shape)
    pivot = matrix[i, j]
    if pivot == 0:
        return None
    column, row = matrix[:, j] / pivot, matrix[i, :].copy()
    if not _matches(np.outer(column, row), matrix, pivot):
        return None
    factors = _integer_factors(matrix, i, j) or Factors(column, row)
    if factors.column[np.flatnonzero(factors.column)[0]] < 0:
        factors = Factors(-factors.column, -factors.row, factors.scale)
    for taps in factors[:2]:
        taps += 0.0  # no negative zeros
        taps.setflags(write=False)
    return factors


def _matches(product: np.ndarray, matrix: np.ndarray, pivot: float) -> bool:
    return bool(np.allclose(product, matrix, rtol=SEPARABLE_RTOL, atol=1e-12 * abs(pivot)))


def _integer_factors(matrix: np.ndarray, i: int, j: int) -> Factors | None:
    """Integer column and row over a common scale, when the weights allow it."""
    unit = np.abs(matrix[matrix != 0]).min()
    if np.abs(matrix).max() > _MAX_INTEGER_WEIGHT * unit:
        return None
    multiples = matrix / unit
    whole = np.rint(multiples)
    if not np.allclose(multiples, whole, rtol=0, atol=1e-9 * np.abs(whole).max()):
        return None
    whole = whole.astype(np.int64)
    row = whole[i, :] // np.gcd.reduce(np.abs(whole[i, :]))
    if np.any(whole[:, j] % row[j]):
        return None
    column = whole[:, j] // row[j]
    if not np.array_equal(np.outer(column, row), whole):
        return None
    factors = Factors(column.astype(np.float64), row.astype(np.float64), float(unit))
    product = np.outer(factors.column, factors.row) * factors.scale
    return factors if _matches(product, matrix, matrix[i, j]) else None


@dataclass(frozen=True)
class KernelBank:
    """Several kernels of one shape; the engine gives one feature map per kernel.

    >>> bank = KernelBank("pair", (Kernel("a", [[1, 0]]), Kernel("b", [[0, 1]])))
    >>> len(bank), bank.shape
    (2, (1, 2))
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
                raise TypeError(
                    f"kernel bank {shown(self.name)}: item {i} is not a Kernel: {shown(kernel)}"
                )
            if kernel.shape != kernels[0].shape:
                raise ValueError(
                    f"kernel bank {self.name!r}: kernel {i} is {size_text(kernel.shape)} but "
                    f"kernel 0 is {size_text(kernels[0].shape)}; all must have one shape"
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

    @property
    def spec(self) -> str:
        """How to name this bank again: its file, or its name."""
        return self.name if self.source == "built-in" else self.source

    def __getitem__(self, index: int) -> Kernel:
        return self.kernels[index]


# --- building blocks shared by the catalog and the JSON reader -------------------------


def gaussian_1d(sigma: float | None = None, size: int | None = None) -> np.ndarray:
    """Return normalised 1-D Gaussian taps, exp(-x² / 2σ²) / sum, x the offsets from the centre.

    The taps are computed once per (sigma, size) (every strip of a pipeline asks for
    them); each call gets its own copy.

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
        if size > _MAX_GAUSSIAN_TAPS:
            raise ValueError(f"size must be <= {_MAX_GAUSSIAN_TAPS} (Gaussian taps), got {size}")
    elif 4.0 * sigma + 0.5 >= _MAX_GAUSSIAN_TAPS // 2:
        raise ValueError(
            f"gaussian sigma={sigma:g} needs more than {_MAX_GAUSSIAN_TAPS} taps; "
            "give a smaller sigma"
        )
    else:
        size = 2 * gaussian_radius(sigma) + 1
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    return _gaussian_taps(float(sigma), int(size)).copy()


@functools.lru_cache(maxsize=256)
def _gaussian_taps(sigma: float, size: int) -> np.ndarray:
    """:func:`gaussian_1d`'s taps, computed once and kept read-only."""
    offsets = (np.arange(size) - (size - 1) / 2) ** 2
    # Subtracting the smallest offset keeps the centre taps at 1, so a tiny sigma
    # (even 1e-300, whose square is 0) gives the identity, not 0/0.
    with np.errstate(over="ignore"):
        z = (offsets - offsets.min()) / sigma / sigma
    taps = np.exp(-0.5 * z)
    taps /= taps.sum()
    taps.flags.writeable = False
    return taps


def gaussian_radius(sigma: float) -> int:
    """``int(4 * sigma + 0.5)``, scipy.ndimage's radius for ``truncate=4``.

    >>> gaussian_radius(1.5)
    6
    """
    return int(4.0 * sigma + 0.5)


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
