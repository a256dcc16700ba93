"""Parameters: one typed value, checked alike from the shell, a pipeline, JSON or Python.

A :class:`Param` says what a value must be (its kind and bounds). ``check(name, value)``
takes Python values (the library, JSON pipelines) and text (``--sigma 2``, ``sigma=2``,
``gaussian:sigma=2``, ``kernels show gaussian sigma=2``) in one grammar:

- numbers as Python writes them (``2``, ``1.5``, ``1e-3``);
- a pair ``5,3`` or ``5x3`` (y first), or one value for both;
- booleans ``true/false``, ``yes/no``, ``on/off``, ``1/0``;
- ``none`` or ``auto`` for an optional value (a parameter whose default is None).

The library declares its parameters once with :func:`takes`; the operation table, the
command line and the help read them from there, so a bound or a default has one home.
This module imports no numpy.

>>> Param("float", low=0, low_open=True).check("sigma", "2")
2.0
>>> Param("pair").check("size", "5x3")
(5, 3)
>>> Param("float", low=0, low_open=True).check("sigma", -1)
Traceback (most recent call last):
...
ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from imgfilter import _checks
from imgfilter._checks import shown
from imgfilter.choices import PADDING_WORDS

# Static limits: far beyond what any real use asks (OpenCV's and scipy's kernels, CNN
# strides and dilations stay well below), low enough that no single number can stall
# the tool or exhaust memory. Costs that also depend on the image are checked when the
# image is known (see imgfilter.engine.check_budget).
MAX_WINDOW = 1024
"""Largest window or kernel side (box, pooling, kernels from names and files)."""
MAX_STRIDE = 1024
"""Largest stride: a step beyond the largest window only skips pixels."""
MAX_DILATION = 1024
"""Largest dilation: a 3×3 kernel at this rate already spans 2049 pixels."""
MAX_PADDING = 4096
"""Largest padding per side: four times the largest window; more only repeats the border."""
MAX_SIGMA = 1000.0
"""Largest spatial standard deviation, in pixels: its Gaussian has 8001 taps."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "auto")

# Kinds added from above (the kernel kind lives with the kernels): name -> (convert, metavar).
_PLUGGED: dict[str, tuple[Callable[[str, Any], Any], str]] = {}


@dataclass(frozen=True)
class Param:
    """What one parameter's value must be.

    ``kind`` is ``float``, ``int``, ``bool``, ``choice``, ``pair`` (an int or ``y,x``),
    ``float-pair`` (a number or ``y,x``), ``interval`` (two numbers ``low,high`` with
    low <= high), ``padding`` (``valid``, ``same``, P, PY,PX or T,B,L,R), ``text``, or a
    kind plugged in with :func:`plug_kind` (``kernel``). ``low``/``high`` bound numbers
    (``low_open`` makes ``low`` exclusive; a pair's items are ``>= 1`` unless said);
    ``why`` says why ``high`` is the limit; ``odd`` asks for odd integers; ``choices``
    lists the allowed values; ``optional`` admits None; ``words`` are literal values
    accepted as well (``global``). For a choice, ``aliases`` maps other spellings to a
    choice (``{"mean": "avg"}``: accepted, not shown in help) and ``hints`` maps words
    of other tools to a pointer at ours (never accepted).

    >>> Param("int", low=1, high=1024, why="a window side").check("size", 2000)
    Traceback (most recent call last):
    ...
    ValueError: size must be <= 1024 (a window side), got 2000
    >>> Param("choice", choices=("max", "avg"), aliases={"mean": "avg"}).check("mode", "mean")
    'avg'
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple = ()
    optional: bool = False
    words: tuple[str, ...] = ()
    odd: bool = False
    why: str = ""
    aliases: Mapping[str, str] | tuple = ()
    hints: Mapping[str, str] | tuple = ()

    def __post_init__(self) -> None:
        # Stored as sorted pairs, so that a Param stays hashable.
        for name in ("aliases", "hints"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, tuple(sorted(value.items())))

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` (text or a Python value) checked, or raise naming ``name``."""
        if isinstance(value, str):
            text = value.strip()
            if self.optional and text.lower() in _NONE:
                return None
            if text.lower() in self.words:
                return text.lower()
            value = text
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{name} needs a value")
        if self.kind in _PLUGGED:
            return _PLUGGED[self.kind][0](name, value)
        try:
            return _CONVERTERS[self.kind](self, name, value)
        except ValueError:
            if not (self.words and isinstance(value, str)):
                raise
            words = ", ".join(self.words)
            raise ValueError(
                f"{name} must be one of {words} or {_WORDS[self.kind]}; got {shown(value)}"
            ) from None

    def describe(self) -> str:
        """The accepted values in words, for help text: ``> 0``, ``[0, 1]``, ``x, y``."""
        if self.choices:
            return ", ".join(map(str, self.choices))
        if self.low is not None and self.high is not None:
            return f"[{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"<= {self.high:g}"
        return ""

    @property
    def metavar(self) -> str:
        """How the value is written on the command line: ``FLOAT``, ``N|Y,X``."""
        if self.kind in _PLUGGED:
            metavar = _PLUGGED[self.kind][1]
        else:
            metavar = _METAVARS[self.kind]
        words = [*self.words, *(("auto",) if self.optional else ())]
        return "|".join([metavar, *words])


def plug_kind(kind: str, convert: Callable[[str, Any], Any], metavar: str) -> None:
    """Add a kind whose ``convert(name, value)`` lives in a higher layer (kernels)."""
    _PLUGGED[kind] = (convert, metavar)


# --- converters: text or a Python value -> a checked value --------------------------------


def _parse(name: str, value: Any, parse: Callable[[str], Any]) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError:
        kind = "an integer" if parse is int else "a number"
        raise ValueError(f"{name} must be {kind}, got {shown(value)}") from None


def _bounded(param: Param, name: str, value: float) -> float:
    low, high = param.low, param.high
    if low is not None and high is not None and not param.why:
        _checks.in_range(name, value, low, high)
        if param.low_open and value == low:
            raise ValueError(f"{name} must be in ({low:g}, {high:g}], got {value:g}")
        return value
    if low is not None:
        if param.low_open and value <= low:
            raise ValueError(f"{name} must be > {low:g}, got {shown(value)}")
        if not param.low_open and value < low:
            raise ValueError(f"{name} must be >= {low:g}, got {shown(value)}")
    if high is not None and value > high:
        why = f" ({param.why})" if param.why else ""
        raise ValueError(f"{name} must be <= {high:g}{why}, got {shown(value)}")
    return value


def _to_float(param: Param, name: str, value: Any) -> float:
    value = _parse(name, value, float)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e308:
        _bounded(param, name, value)  # before it overflows a float
    value = _checks.number(name, value)
    _bounded(param, name, value)
    if param.choices:
        _checks.choice(name, value, param.choices)
    return value


def _to_int(param: Param, name: str, value: Any) -> int:
    value = _checks.integer(name, _parse(name, value, int))
    _bounded(param, name, value)
    if param.choices and value not in param.choices:
        options = ", ".join(map(str, param.choices))
        raise ValueError(f"{name} must be one of {options}; got {shown(value)}")
    if param.odd and value % 2 == 0:
        raise ValueError(
            f"{name} must be odd (an even window has no centre pixel), got {shown(value)}"
        )
    return value


def _to_bool(param: Param, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"{name} must be true or false, got {shown(value)}")


def _to_choice(param: Param, name: str, value: Any) -> str:
    if isinstance(value, str):
        value = dict(param.aliases).get(value, value)
    return _checks.choice(name, value, param.choices, dict(param.hints))


def _to_text(param: Param, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty text, got {shown(value)}")
    return value


def split_pair(value: Any) -> Any:
    """``"5,3"`` or ``"5x3"`` -> ``["5", "3"]``; other text and values are returned as given.

    >>> split_pair("5x3"), split_pair("7"), split_pair([1, 2])
    (['5', '3'], '7', [1, 2])
    """
    if isinstance(value, str) and ("," in value or "x" in value.lower()):
        return [item.strip() for item in value.lower().replace("x", ",").split(",")]
    return value


def _items(param: Param, name: str, value: Any, counts: tuple[int, ...], what: str) -> list:
    value = split_pair(value)
    if isinstance(value, (list, tuple)):
        if len(value) not in counts:
            raise ValueError(f"{name} must be {what}, got {_shown(value)}")
        return list(value)
    return [value]


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) <= 4:
        return shown(",".join(shown(v).strip("'") for v in value))
    return shown(value)


_PAIR = "a single value or a pair y,x"
_WORDS = {"pair": _PAIR, "float": "a number", "int": "an integer"}


def _pair_of(convert: Callable[[Param, str, Any], Any], low: float):
    def to_pair(param: Param, name: str, value: Any) -> tuple:
        items = _items(param, name, value, (2,), _PAIR)
        item_param = replace(param, low=low if param.low is None else param.low)
        if len(items) == 1:
            one = convert(item_param, name, items[0])
            return (one, one)
        return tuple(convert(item_param, f"{name}[{i}]", v) for i, v in enumerate(items))

    return to_pair


def _to_interval(param: Param, name: str, value: Any) -> tuple[float, float]:
    items = _items(param, name, value, (2,), "a pair low,high")
    if len(items) != 2:
        raise ValueError(f"{name} must be a pair low,high, got {_shown(value)}")
    low, high = (_to_float(param, f"{name}[{i}]", v) for i, v in enumerate(items))
    if low > high:
        raise ValueError(f"{name} must be low,high with low <= high, got {low:g},{high:g}")
    return (low, high)


_PADDING = "'valid', 'same', an integer, py,px or top,bottom,left,right"


def _to_padding(param: Param, name: str, value: Any) -> str | tuple[int, ...]:
    if isinstance(value, str) and value.lower() in PADDING_WORDS:
        return value.lower()
    items = _items(param, name, value, (2, 4), _PADDING)
    checked = []
    for i, item in enumerate(items):
        where = name if len(items) == 1 else f"{name}[{i}]"
        if isinstance(item, str) and not item.lstrip("-").isdigit():
            raise ValueError(f"{name} must be {_PADDING}; got {_shown(value)}")
        item = _checks.integer(where, _parse(where, item, int))
        checked.append(_bounded(replace(param, low=0), where, item))
    return checked[0] if len(checked) == 1 else tuple(checked)


_CONVERTERS: dict[str, Callable[[Param, str, Any], Any]] = {
    "float": _to_float,
    "int": _to_int,
    "bool": _to_bool,
    "choice": _to_choice,
    "pair": _pair_of(_to_int, 1),
    "float-pair": _pair_of(_to_float, 0),
    "interval": _to_interval,
    "padding": _to_padding,
    "text": _to_text,
}

_METAVARS = {
    "float": "FLOAT",
    "int": "INT",
    "bool": "BOOL",
    "choice": "CHOICE",
    "pair": "N|Y,X",
    "float-pair": "S|SY,SX",
    "interval": "LOW,HIGH",
    "padding": "valid|same|P|PY,PX|T,B,L,R",
    "text": "TEXT",
}


def value_text(value: Any) -> str:
    """A value written back in the grammar: ``(5, 3)`` -> ``5,3``, ``True`` -> ``true``.

    A value that knows how it is written (a kernel: its ``spec``) is written so.

    >>> value_text((5, 3)), value_text(True), value_text(1.5)
    ('5,3', 'true', '1.5')
    """
    if hasattr(value, "spec"):
        return value.spec
    if isinstance(value, (list, tuple)):
        return ",".join(map(value_text, value))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return shown(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


# --- key=value lists: the one grammar for several parameters in one word ------------------


def parse_assignments(items: list[str] | tuple[str, ...], where: str) -> dict[str, str]:
    """``["sigma=2,3", "size=9"]`` or ``["sigma=2,3,size=9"]`` -> ``{"sigma": "2,3", ...}``.

    Commas separate parameters and the items of a pair alike: a piece without ``=``
    continues the value before it. Keys are given as written (``range-sigma``).

    >>> parse_assignments(["base=sobel-x,rate=2,3"], "dilated")
    {'base': 'sobel-x', 'rate': '2,3'}
    """
    values: dict[str, str] = {}
    last = None
    for piece in (p.strip() for item in items for p in item.split(",")):
        key, eq, text = piece.partition("=")
        if not eq:
            if last is None or not piece:
                raise ValueError(f"parameters must read key=value, got {shown(piece)} in {where}")
            values[last] += "," + piece
            continue
        key = key.strip()
        if not key or not text.strip():
            raise ValueError(f"parameters must read key=value, got {shown(piece)} in {where}")
        if key.replace("_", "-") in (k.replace("_", "-") for k in values):
            raise ValueError(f"{key} is given twice in {where}")
        values[key] = text.strip()
        last = key
    return values


# --- the declaration on library functions -------------------------------------------------


_INSIDE = threading.local()


@contextlib.contextmanager
def inside_library():
    """Mark the calls made from here as the library's own (the engine's band threads
    and the tiled runner enter it too): only a caller's image is looked at for its scale."""
    depth = getattr(_INSIDE, "depth", 0)
    _INSIDE.depth = depth + 1
    try:
        yield
    finally:
        _INSIDE.depth = depth


def warn_unit_scale(image: Any) -> None:
    """One UserWarning for a float image whose values all lie in [0, 1], some of them
    between 0 and 1: the scikit-image habit, where imgfilter works on the 0-255 scale
    (a mask of 0s and 1s is left alone).

    >>> import warnings, numpy as np
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn_unit_scale(np.full((2, 2), 0.5))
    >>> print(seen[0].message)
    image values all lie in [0, 1]; imgfilter works on the 0-255 scale: multiply by 255 first
    """
    kind = getattr(getattr(image, "dtype", None), "kind", None)
    if kind != "f" or getattr(image, "size", 0) == 0:
        return
    if image.ndim and float(image[(slice(None, None, 31),) * min(image.ndim, 2)].max()) > 1:
        return  # a sample already holds a value over 1: no full pass over the image
    high = float(image.max())
    if 0 < high <= 1 and float(image.min()) >= 0 and ((image > 0) & (image < 1)).any():
        warnings.warn(UNIT_SCALE, UserWarning, stacklevel=3)


UNIT_SCALE = (
    "image values all lie in [0, 1]; imgfilter works on the 0-255 scale: multiply by 255 first"
)


def takes(
    *,
    image: bool = True,
    reads_bytes: bool = False,
    also: Callable[[dict], None] | None = None,
    **params: Param,
) -> Callable:
    """Declare and check a library function's parameters.

    The wrapped function checks its first argument with the one image check (unless
    ``image=False``), every declared parameter with its :class:`Param` (defaults too,
    so a bad default cannot hide), then ``also(arguments)`` for rules that tie several
    parameters together. A parameter whose default is None is optional. The function
    gains ``params`` (name -> Param), ``defaults`` (name -> default),
    ``check_arguments(values)``, which the operation table calls to validate a step
    before any image is read, and ``reads_bytes``: with ``reads_bytes=True`` a uint8
    image is passed on unconverted, for functions whose arithmetic reads it exactly
    as its float32 values (the convolution engine's).

    >>> @takes(size=Param("int", low=1))
    ... def blur(image, size=3):
    ...     return size
    >>> blur.check_arguments({"size": "5"})
    {'size': 5}
    >>> blur([[0.0]], size=0)
    Traceback (most recent call last):
    ...
    ValueError: size must be >= 1, got 0
    """

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        defaults = {
            name: p.default
            for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        declared = {
            name: replace(param, optional=True) if defaults.get(name, 0) is None else param
            for name, param in params.items()
        }
        first = next(iter(signature.parameters))

        def check_arguments(values: Mapping[str, Any]) -> dict[str, Any]:
            checked = {}
            for name, param in declared.items():
                value = values[name] if name in values else defaults.get(name)
                checked[name] = param.check(name, value)
            if also is not None:
                also(checked)
            return checked

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            if image:
                if not getattr(_INSIDE, "depth", 0):
                    warn_unit_scale(bound.arguments[first])
                bound.arguments[first] = _checks.image_array(
                    bound.arguments[first], keep_bytes=reads_bytes
                )
            bound.arguments.update(check_arguments(bound.arguments))
            with inside_library():
                return function(*bound.args, **bound.kwargs)

        checked.params = MappingProxyType(declared)
        checked.defaults = MappingProxyType(defaults)
        checked.check_arguments = check_arguments
        checked.reads_bytes = reads_bytes
        return checked

    return decorate
