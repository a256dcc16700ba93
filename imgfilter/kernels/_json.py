"""Kernel JSON files: a kernel or a bank read from a file, every fault named with its file.

>>> parse_kernel({"name": "avg", "matrix": [[1, 1], [1, 1]], "divisor": 4}, "avg.json").matrix
array([[0.25, 0.25],
       [0.25, 0.25]])
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from imgfilter import _checks
from imgfilter._checks import shown, size_text
from imgfilter.kernels._kernel import (
    MAX_KERNEL_SIDE,
    Kernel,
    KernelBank,
    _nonfinite_word,
    dilate,
)

_KERNEL_KEYS = ("name", "description", "matrix", "divisor", "normalize", "dilation")
_BANK_KEYS = ("name", "description", "kernels")


class _Fault(Exception):
    """A problem in a kernel file, without the path (added by :func:`parse_kernel`)."""


def _json_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return shown(value)
    try:
        return json.dumps(value, allow_nan=True)[:40]
    except (TypeError, ValueError, RecursionError):
        return shown(value)[:40]


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number")


def _unknown_key(key: str, allowed: tuple[str, ...]) -> _Fault:
    hint = _checks.did_you_mean(key, allowed)
    return _Fault(f"unknown key {shown(key)}{hint}; allowed keys: {', '.join(allowed)}")


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
        raise ValueError(_checks.file_problem(source, exc, "kernel file")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{source}: not a JSON kernel file (not UTF-8 text)") from None
    return parse_kernel(_checks.parse_json(text, source), source)


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
    _checks.check_depth(data, source)
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
                f"kernels[{i}] is {size_text(kernel.shape)} but kernels[0] is "
                f"{size_text(kernels[0].shape)}; every kernel in a bank must have one shape"
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
        try:
            divisor = float(divisor)
        except OverflowError:
            raise _Fault(f"divisor is too large: {_json_text(divisor)}") from None
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
                f"dilation {_json_text(data['dilation'])} makes the kernel {size_text(shape)}, "
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
            f"matrix is {size_text(shape)}, larger than the limit of {MAX_KERNEL_SIDE} per "
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
        raise _Fault(f"value at {where} is too large: {_json_text(value)}") from None
    if not math.isfinite(number):
        raise _Fault(f"{_nonfinite_word(number)} at {where}; kernel values must be finite")
    return number
