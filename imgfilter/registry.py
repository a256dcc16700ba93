"""The one registry of operations: each is declared once, and everything else follows.

A declaration names the operation, its one-line help, its typed parameters and
the dotted path of the function it runs. From it come the command
``imgfilter gaussian --sigma 2``, the pipeline step ``gaussian sigma=2``, the
validation of both (one wording), the help text, the output mapping used when
saving (``clip`` for smoothing, ``abs`` for signed edge responses) and how the
operation moves pixels (so that alpha can follow).

This module imports neither numpy nor the operations: the functions are looked
up on first use, so ``imgfilter --help`` stays fast.

>>> op = get_operation("gaussian")
>>> op.validate({"sigma": "2"})
{'sigma': 2.0, 'size': None, 'border': 'reflect'}
>>> op.validate({"sigma": "-1"})
Traceback (most recent call last):
...
ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imgfilter import _checks

# Option sets, spelled out here so that help needs no numpy; a test ties them to
# engine.BORDERS, engine.PADDING_WORDS and rescaling.RESCALE_MODES.
BORDERS = ("constant", "reflect", "symmetric", "edge", "wrap")
PADDING_WORDS = ("valid", "same")
RESCALE_MODES = ("clip", "minmax", "abs", "none")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "auto")


@dataclass(frozen=True)
class Param:
    """One typed parameter: the same object checks ``--sigma 2`` and ``sigma=2``.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``choice``, ``pair`` (an int
    or ``y,x``), ``floats`` (two numbers ``a,b``), ``padding`` (the engine's padding
    argument), ``kernel`` (a catalog name with optional ``:key=value,...``
    parameters, or a JSON path) and ``str``. ``low``/``high`` bound numbers
    (``low_open`` makes ``low`` exclusive); ``optional`` admits None (written
    ``none`` or ``auto``); ``words`` are literal values accepted as well
    (``global`` for a pool size).
    """

    name: str
    kind: str
    default: Any
    help: str
    units: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple = ()
    optional: bool = False
    required: bool = False
    words: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        """The command-line spelling, ``--range-sigma`` for ``range_sigma``."""
        return "--" + self.name.replace("_", "-")

    @property
    def key(self) -> str:
        """The pipeline spelling, ``range-sigma`` (``range_sigma`` is accepted too)."""
        return self.name.replace("_", "-")

    @property
    def full_help(self) -> str:
        return f"{self.help} ({self.units})" if self.units else self.help

    def convert(self, value: Any) -> Any:
        """Check ``value`` (text from the shell or a pipeline, or a JSON/Python value).

        Raises ValueError or TypeError with the wording of ``imgfilter._checks``.
        """
        if isinstance(value, str):
            value = value.strip()
            if self.optional and value.lower() in _NONE:
                return None
            if value.lower() in self.words:
                return value.lower()
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{self.name} needs a value")
        return _CONVERTERS[self.kind](self, value)

    def describe_range(self) -> str:
        """The accepted values in words, for help text: ``> 0``, ``[0, 1]``."""
        if self.choices:
            return ", ".join(map(str, self.choices))
        if self.low is not None and self.high is not None:
            return f"[{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return ""


def _parse_number(param: Param, value: Any, parse: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        try:
            return parse(value)
        except ValueError:
            kind = "an integer" if parse is int else "a number"
            raise ValueError(f"{param.name} must be {kind}, got {value!r}") from None
    return value


def _check_bounds(param: Param, value: float) -> None:
    name, low, high = param.name, param.low, param.high
    if low is not None and high is not None:
        _checks.in_range(name, value, low, high)
        if param.low_open and value == low:
            raise ValueError(f"{name} must be in ({low:g}, {high:g}], got {value:g}")
    elif low is not None:
        if param.low_open and value <= low:
            raise ValueError(f"{name} must be > {low:g}, got {value}")
        if not param.low_open and value < low:
            raise ValueError(f"{name} must be >= {low:g}, got {value}")


def _to_float(param: Param, value: Any) -> float:
    value = _checks.number(param.name, _parse_number(param, value, float))
    _check_bounds(param, value)
    return value


def _to_int(param: Param, value: Any) -> int:
    value = _checks.integer(param.name, _parse_number(param, value, int))
    _check_bounds(param, value)
    if param.choices and value not in param.choices:
        options = ", ".join(map(str, param.choices))
        raise ValueError(f"{param.name} must be one of {options}; got {value!r}")
    return value


def _to_bool(param: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"{param.name} must be true or false, got {value!r}")


def _to_choice(param: Param, value: Any) -> str:
    return _checks.choice(param.name, value, param.choices)


def _to_str(param: Param, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{param.name} must be a non-empty text, got {value!r}")
    return value


def _split_numbers(param: Param, value: Any, sizes: tuple[int, ...]) -> Any:
    """``"2"`` -> 2, ``"2,3"`` -> (2, 3); lists from JSON pass through as tuples."""
    if isinstance(value, str):
        items = [item.strip() for item in value.replace("x", ",").split(",")]
        if len(items) == 1:
            return _parse_number(param, items[0], int)
        if len(items) not in sizes:
            raise ValueError(f"{param.name} must be {_PAIR_WORDS[sizes]}, got {value!r}")
        return tuple(_parse_number(param, item, int) for item in items)
    if isinstance(value, list):
        return tuple(value)
    return value


_PAIR_WORDS = {
    (2,): "a single value or a pair y,x",
    (2, 4): "'valid', 'same', an integer, py,px or top,bottom,left,right",
}


def _to_pair(param: Param, value: Any) -> int | tuple[int, int]:
    value = _split_numbers(param, value, (2,))
    low = int(param.low) if param.low is not None else 1

    def one(name: str, item: Any) -> int:
        item = _checks.integer(name, item)
        if item < low:
            raise ValueError(f"{name} must be >= {low}, got {item}")
        return item

    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{param.name} must be {_PAIR_WORDS[(2,)]}, got {value!r}")
        return (one(f"{param.name}[0]", value[0]), one(f"{param.name}[1]", value[1]))
    return one(param.name, value)


def _to_float_pair(param: Param, value: Any) -> tuple[float, float]:
    if isinstance(value, str):
        value = tuple(item.strip() for item in value.split(","))
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{param.name} must be a pair low,high, got {value!r}")
    first, second = (
        _to_float(
            Param(f"{param.name}[{i}]", "float", None, "", low=param.low, high=param.high), item
        )
        for i, item in enumerate(value)
    )
    return (first, second)


def _to_padding(param: Param, value: Any) -> str | int | tuple[int, ...]:
    if isinstance(value, str) and value.strip().lower() in PADDING_WORDS:
        return value.strip().lower()
    if isinstance(value, str) and not value.replace(",", "").replace(" ", "").isdigit():
        raise ValueError(f"padding must be {_PAIR_WORDS[(2, 4)]}; got {value!r}")
    value = _split_numbers(param, value, (2, 4))
    items = value if isinstance(value, tuple) else (value,)
    if len(items) not in (1, 2, 4):
        raise ValueError(f"padding must be {_PAIR_WORDS[(2, 4)]}; got {value!r}")
    names = ["padding"] if len(items) == 1 else [f"padding[{i}]" for i in range(len(items))]
    checked = []
    for name, item in zip(names, items, strict=True):
        if isinstance(item, str):
            raise ValueError(f"{name} must be 'valid', 'same' or a number of pixels; got {item!r}")
        item = _checks.integer(name, item)
        if item < 0:
            raise ValueError(f"{name} must be >= 0, got {item}")
        checked.append(item)
    return checked[0] if len(checked) == 1 else tuple(checked)


def _to_kernel(param: Param, value: Any) -> str:
    """Check that the kernel resolves now, so a typo fails before any image is read."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{param.name} must be a kernel name or a .json path, got {value!r}")
    resolve_kernel(value)
    return value.strip()


_CONVERTERS: dict[str, Callable[[Param, Any], Any]] = {
    "float": _to_float,
    "int": _to_int,
    "bool": _to_bool,
    "choice": _to_choice,
    "pair": _to_pair,
    "floats": _to_float_pair,
    "padding": _to_padding,
    "kernel": _to_kernel,
    "str": _to_str,
}


def parse_kernel_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``"gaussian:sigma=2,size=7"`` into ``("gaussian", {"sigma": "2", "size": "7"})``.

    Pairs inside are written ``3x5``. A ``.json`` path is never split.

    >>> parse_kernel_spec("dilated:base=sobel-x,rate=2")
    ('dilated', {'base': 'sobel-x', 'rate': '2'})
    """
    spec = spec.strip()
    if ":" not in spec or spec.lower().endswith(".json"):
        return spec, {}
    name, _, rest = spec.partition(":")
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, text = item.partition("=")
        if not eq or not key.strip() or not text.strip():
            raise ValueError(f"kernel parameters must read key=value, got {item!r} in {spec!r}")
        params[key.strip().replace("-", "_")] = text.strip()
    return name.strip(), params


def resolve_kernel(spec: str, params: Mapping[str, str] | None = None):
    """The Kernel or KernelBank named by ``spec`` (see ``parse_kernel_spec``).

    ``params`` adds parameters given as text, as ``kernels show gaussian sigma=2`` does.
    """
    from imgfilter import kernels

    name, given = parse_kernel_spec(spec)
    given.update(params or {})
    try:
        declared = kernels.catalog_entry(name).params
    except ValueError:
        declared = {}
    values = {k: declared[k].parse(v) if k in declared else v for k, v in given.items()}
    return kernels.get_kernel(name, **values)


@dataclass(frozen=True)
class Operation:
    """One operation, declared once.

    ``target`` is ``"module:function"``, called as ``function(image, **params)``
    (``call`` replaces that when the parameters need translating). ``mapping``
    is the natural output mapping, a mode name or a function of the parameters;
    None means "whatever the previous step had" (for steps such as ``grayscale``
    that keep the value range). ``window`` returns what engine.plan needs to
    explain the step and move alpha, ``(kernel, engine options)``; None means
    the step keeps the geometry. ``alpha`` replaces the default alpha rule.
    """

    name: str
    help: str
    target: str
    params: tuple[Param, ...] = ()
    mapping: str | Callable[[dict], str] | None = "clip"
    aliases: tuple[str, ...] = ()
    description: str = ""
    window: Callable[[dict], tuple[Any, dict]] | None = None
    gray: bool = False
    geometry: str = "same"
    call: Callable[..., Any] | None = None
    check: Callable[[dict], None] | None = None
    alpha: Callable[..., Any] | None = None
    example: str = ""
    note: Callable[[dict], str] | None = None
    shape: Callable[[tuple, dict], tuple] | None = None
    weighted: bool = True
    param_index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {}
        for p in self.params:
            index[p.name] = p
            index[p.key] = p
        object.__setattr__(self, "param_index", index)

    def function(self) -> Callable[..., Any]:
        """The Python function this operation runs (imported now)."""
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def param(self, key: str) -> Param:
        """The parameter spelt ``key`` (``range-sigma`` or ``range_sigma``)."""
        try:
            return self.param_index[key]
        except KeyError:
            raise ValueError(self._unknown_param(key)) from None

    def _unknown_param(self, key: str) -> str:
        keys = [p.key for p in self.params]
        if not keys:
            return f"{self.name} takes no parameters, got {key!r}"
        close = difflib.get_close_matches(key.replace("_", "-"), keys, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{self.name} has no parameter {key!r}{hint}; it takes {', '.join(keys)}"

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Checked parameters with defaults filled in, keyed by Python name."""
        given = {self.param(key).name: value for key, value in values.items()}
        params = {}
        for p in self.params:
            if p.name in given:
                params[p.name] = p.convert(given[p.name])
            elif p.required:
                raise ValueError(f"{self.name} needs {p.key}=...")
            else:
                params[p.name] = p.default
        if self.check is not None:
            self.check(params)
        return params

    def natural_mapping(self, params: Mapping[str, Any]) -> str | None:
        """The output mapping this step asks for, or None to keep the previous one."""
        return self.mapping(params) if callable(self.mapping) else self.mapping

    def apply(self, image, params: Mapping[str, Any]):
        """Run the operation on a float32 image (no alpha) and return a float32 image."""
        import numpy as np

        if self.call is not None:
            result = self.call(self.function(), image, **params)
        else:
            result = self.function()(image, **params)
        result = np.asarray(result)
        if result.dtype == bool:
            return result.astype(np.float32) * np.float32(255)
        return result.astype(np.float32, copy=False)

    def plan(self, shape: tuple[int, ...], params: Mapping[str, Any]):
        """engine.plan for this step on an image of ``shape``, or None for pixel-wise steps."""
        window = None if self.window is None else self.window(params)
        if window is None:
            return None
        from imgfilter import engine

        kernel, options = window
        return engine.plan(shape, kernel, **options)

    def output_shape(self, shape: tuple[int, ...], params: Mapping[str, Any]) -> tuple[int, ...]:
        """Shape of the result on an image of ``shape`` (colour channels only)."""
        if self.shape is not None:
            return tuple(self.shape(tuple(shape), params))
        plan = self.plan(shape, params)
        if plan is not None and self.geometry != "same":
            shape = tuple(plan.output_shape)
        return shape[:2] if self.gray else tuple(shape)

    def apply_alpha(self, alpha, params: Mapping[str, Any]):
        """Carry an alpha plane (H, W) through this step's geometry."""
        if self.alpha is not None:
            return self.alpha(self, alpha, params)
        window = None if self.window is None else self.window(params)
        if self.geometry == "same" or window is None:
            return alpha
        return _window_centres(alpha, *window)


def _window_centres(alpha, kernel, options: Mapping[str, Any]):
    """Each output pixel takes the alpha under its window's centre tap (edge padding)."""
    import numpy as np

    from imgfilter import engine

    plan = engine.plan(alpha.shape, kernel, **options)
    (kh, kw), (sy, sx), (dy, dx) = plan.kernel_shape[:2], plan.stride, plan.dilation
    out_h, out_w = plan.output_shape[:2]
    padded = engine.pad(np.asarray(alpha, dtype=np.float32), plan.pads, "edge")
    y0, x0 = (kh - 1) // 2 * dy, (kw - 1) // 2 * dx
    return np.ascontiguousarray(
        padded[y0 : y0 + sy * (out_h - 1) + 1 : sy, x0 : x0 + sx * (out_w - 1) + 1 : sx]
    )


# --- the declarations ----------------------------------------------------------------
# One Operation per command; helpers first. Kept one parameter per line, by hand.
# fmt: off

OPERATIONS: dict[str, Operation] = {}
_ALIASES: dict[str, str] = {}


def register(op: Operation) -> Operation:
    """Add ``op`` to the registry (its name and aliases must be new)."""
    for name in (op.name, *op.aliases):
        if name in OPERATIONS or name in _ALIASES:
            raise ValueError(f"operation {name!r} is already registered")
    OPERATIONS[op.name] = op
    for alias in op.aliases:
        _ALIASES[alias] = op.name
    return op


def get_operation(name: str) -> Operation:
    """The operation called ``name`` (or one of its aliases), with a did-you-mean."""
    name = _ALIASES.get(name, name)
    if name in OPERATIONS:
        return OPERATIONS[name]
    known = sorted([*OPERATIONS, *_ALIASES])
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValueError(f"unknown operation {name!r}{hint}; see 'imgfilter --help' for the list")


_BORDER = Param("border", "choice", "reflect", "What the pixels beyond the edge hold",
                choices=BORDERS)
_PADDING = "valid, same, P, PY,PX or TOP,BOTTOM,LEFT,RIGHT"


def _sigma(help: str = "Gaussian standard deviation", zero: bool = False) -> Param:
    return Param("sigma", "float", 1.0, help, units="pixels", low=0, low_open=not zero)


def _kernel_mapping(params: Mapping[str, Any]) -> str:
    """abs for zero-sum (edge) kernels, whose responses are signed; clip otherwise."""
    kernel = resolve_kernel(params["kernel"])
    members = getattr(kernel, "kernels", (kernel,))
    return "abs" if any(abs(float(k.matrix.sum())) < 1e-9 for k in members) else "clip"


def _convolve_window(params: Mapping[str, Any]):
    options = {k: params[k] for k in ("padding", "stride", "dilation")}
    return resolve_kernel(params["kernel"]), options


def _call_convolve(function, image, *, kernel, **options):
    return function(image, resolve_kernel(kernel), **options)


def _catalog_window(name: str, **kernel_params: Any):
    from imgfilter import kernels

    return kernels.get_kernel(name, **kernel_params), {}


def _gaussian_window(params: Mapping[str, Any]):
    if params.get("sigma") == 0:
        return None
    return _catalog_window("gaussian", sigma=params["sigma"], size=params.get("size"))


register(Operation(
    "convolve", "Slide any kernel over the image (cross-correlation, no flip).",
    "imgfilter.engine:convolve",
    params=(
        Param("kernel", "kernel", None, "Catalog name (with :key=value,... parameters) or a "
              "kernel .json file; see 'imgfilter kernels list'", required=True),
        Param("padding", "padding", "same", _PADDING),
        _BORDER,
        Param("cval", "float", 0.0, "Value of the padded pixels with --border constant"),
        Param("stride", "pair", 1, "Step between windows, S or SY,SX", units="pixels", low=1),
        Param("dilation", "pair", 1, "Gap between kernel taps, D or DY,DX (2 spreads a 3x3 "
              "over 5x5)", low=1),
        Param("flip", "bool", False, "Rotate the kernel 180 degrees (true convolution)"),
    ),
    mapping=_kernel_mapping,
    window=_convolve_window,
    geometry="window",
    call=_call_convolve,
    description="Output size per axis: floor((N + pad_before + pad_after - (d*(k-1)+1)) / s)"
    " + 1. Saved with 'abs' when the kernel sums to 0 (edge kernels), else 'clip'.",
    example="convolve kernel=sobel-x padding=valid stride=2",
))

register(Operation(
    "gaussian", "Gaussian blur.", "imgfilter.filters:gaussian",
    params=(
        _sigma(),
        Param("size", "int", None, "Kernel size; by default 2*int(4*sigma+0.5)+1",
              units="pixels", low=1, optional=True),
        _BORDER,
    ),
    window=_gaussian_window,
    example="gaussian sigma=2",
))

register(Operation(
    "box", "Box (mean) blur: every pixel becomes the average of its window.",
    "imgfilter.filters:box",
    params=(Param("size", "pair", 3, "Window N or H,W", units="pixels", low=1), _BORDER),
    aliases=("mean",),
    window=lambda params: _catalog_window("box", size=params["size"]),
    example="box size=5",
))

register(Operation(
    "sobel", "Sobel edges: x (vertical edges), y (horizontal edges) or the magnitude.",
    "imgfilter.filters:sobel",
    params=(
        Param("direction", "choice", "magnitude", "x: brightness rising to the right; y: the "
              "seeds' horizontal-edge kernel; magnitude: sqrt(x^2 + y^2)",
              choices=("x", "y", "magnitude")),
        _BORDER,
    ),
    mapping=lambda params: "clip" if params["direction"] == "magnitude" else "abs",
    window=lambda params: ("sobel-y" if params["direction"] == "y" else "sobel-x", {}),
    example="sobel direction=x",
))

register(Operation(
    "laplacian", "Laplacian (second derivative): 4- or 8-neighbour kernel.",
    "imgfilter.filters:laplacian",
    params=(
        Param("kind", "int", 4, "Neighbours: 4 ([0 -1 0; -1 4 -1; 0 -1 0]) or 8",
              choices=(4, 8)),
        _BORDER,
    ),
    mapping="abs",
    window=lambda params: ("laplacian" if params["kind"] == 4 else "laplacian8", {}),
))

register(Operation(
    "sharpen", "Sharpen with the kernel [0 -1 0; -1 5 -1; 0 -1 0].",
    "imgfilter.filters:sharpen",
    params=(_BORDER,),
    window=lambda params: ("sharpen", {}),
))

register(Operation(
    "unsharp", "Unsharp mask: image + amount * (image - gaussian(image, sigma)).",
    "imgfilter.filters:unsharp",
    params=(
        _sigma("Standard deviation of the blur that is subtracted"),
        Param("amount", "float", 1.0, "Strength of the sharpening", low=0),
        Param("threshold", "float", 0.0, "Leave pixels whose difference is below this",
              units="0-255 scale", low=0),
        _BORDER,
    ),
    window=_gaussian_window,
))

register(Operation(
    "rescale", "Map values into 0-255: clip, minmax (stretch), abs, or none (keep floats).",
    "imgfilter.rescaling:rescale",
    params=(
        Param("mode", "choice", "minmax", "clip: clamp; minmax: min->0, max->255; abs: |x| "
              "then clamp; none: unchanged", choices=RESCALE_MODES),
        Param("per_channel", "bool", False, "With minmax, stretch each channel on its own"),
    ),
    mapping=lambda params: params["mode"],
    example="rescale mode=minmax",
))

register(Operation(
    "grayscale", "Convert colour to luminance (0.299 R + 0.587 G + 0.114 B).",
    "imgfilter.filters:grayscale",
    mapping=None,
    gray=True,
))

register(Operation(
    "relu", "Rectified linear unit: negative values become 0.",
    "imgfilter.filters:relu",
))

register(Operation(
    "leaky-relu", "Leaky ReLU: negative values are multiplied by slope.",
    "imgfilter.filters:leaky_relu",
    params=(Param("slope", "float", 0.01, "Factor applied to negative values", low=0),),
))


def _check_canny(params: Mapping[str, Any]) -> None:
    low, high = params["low"], params["high"]
    if low is not None and high is not None and low > high:
        raise ValueError(f"low must be <= high, got low={low:g} and high={high:g}")
    if params["quantiles"] is not None and (low is not None or high is not None):
        raise ValueError("give either low/high thresholds or quantiles, not both")


register(Operation(
    "canny", "Canny edges: a one-pixel-wide edge map saved as 0 and 255.",
    "imgfilter.edges:canny",
    params=(
        _sigma("Gaussian smoothing before the gradients; 0 skips it", zero=True),
        Param("low", "float", None, "Weak-edge threshold on the L2 Sobel gradient magnitude "
              "(OpenCV's units; half of high if only high is given)", units="0-255 scale",
              low=0, optional=True),
        Param("high", "float", None, "Strong-edge threshold on the same magnitude (twice low "
              "if only low is given)", units="0-255 scale", low=0, optional=True),
        Param("quantiles", "floats", None, "Thresholds as quantiles LOW,HIGH of the gradient "
              "magnitude instead, e.g. 0.7,0.9", low=0, high=1, optional=True),
    ),
    gray=True,
    check=_check_canny,
    window=_gaussian_window,
    note=lambda params: "Gaussian smoothing (below), 3×3 Sobel gradients, non-maximum"
    " suppression, double threshold and hysteresis",
    description="Colour is converted to luminance first. Without thresholds they are chosen"
    " automatically from the gradient magnitudes.",
    example="canny sigma=2 low=20 high=60",
))


def _check_denoise(params: Mapping[str, Any]) -> None:
    from imgfilter.denoising import METHOD_PARAMS

    method = params["method"]
    extra = [k for k in ("size", "sigma", "sigma_range", "h", "patch", "search")
             if params[k] is not None and k not in METHOD_PARAMS[method]]
    if extra:
        takes = ", ".join(k.replace("_", "-") for k in (*METHOD_PARAMS[method], "border"))
        given = ", ".join(k.replace("_", "-") for k in extra)
        raise ValueError(f"denoise method {method!r} takes {takes}; got {given}")


def _denoise_window(params: Mapping[str, Any]):
    if params["method"] == "mean":
        return _catalog_window("box", size=params["size"] or 3)
    if params["method"] == "gaussian":
        return _gaussian_window({"sigma": params["sigma"] or 1.0})
    return None


def _denoise_note(params: Mapping[str, Any]) -> str:
    size = params["size"] or 3
    return {
        "median": f"median over a {size}×{size} window" if isinstance(size, int) else "median",
        "bilateral": "bilateral: Gaussian in space × Gaussian in colour, over a round window",
        "nlm": "non-local means: patches compared over a search window",
    }.get(params["method"], "")


register(Operation(
    "denoise", "Remove noise: mean, median, gaussian, bilateral or non-local means (nlm).",
    "imgfilter.denoising:denoise",
    params=(
        Param("method", "choice", "median", "mean, median (salt-and-pepper), gaussian, "
              "bilateral (keeps edges) or nlm (non-local means)",
              choices=("mean", "median", "gaussian", "bilateral", "nlm")),
        Param("size", "pair", None, "Window side for mean (N or H,W), median (odd, default 3) "
              "and bilateral (odd; default from sigma)", units="pixels", low=1, optional=True),
        Param("sigma", "float", None, "Spatial standard deviation for gaussian (default 1) "
              "and bilateral (default 2)", units="pixels", low=0, low_open=True, optional=True),
        Param("sigma_range", "float", None, "Bilateral colour standard deviation (default 30)",
              units="0-255 scale", low=0, low_open=True, optional=True),
        Param("h", "float", None, "nlm strength, about the noise sigma (default 10)",
              units="0-255 scale", low=0, low_open=True, optional=True),
        Param("patch", "int", None, "nlm patch side (default 5)", units="pixels", low=1,
              optional=True),
        Param("search", "int", None, "nlm search window side (default 11)", units="pixels",
              low=1, optional=True),
        _BORDER,
    ),
    check=_check_denoise,
    window=_denoise_window,
    note=_denoise_note,
    description="Colour images are filtered per channel, except bilateral and nlm, which"
    " compare whole colours.",
    example="denoise method=bilateral sigma=3 sigma-range=25",
))


def _check_noise(params: Mapping[str, Any]) -> None:
    if params["kind"] == "salt-and-pepper" and params["amount"] is not None:
        _checks.in_range("amount", params["amount"], 0, 1)


register(Operation(
    "noise", "Add noise (for testing denoisers): gaussian or salt-and-pepper, seeded.",
    "imgfilter.denoising:add_noise",
    params=(
        Param("kind", "choice", "gaussian", "gaussian or salt-and-pepper",
              choices=("gaussian", "salt-and-pepper")),
        Param("amount", "float", None, "gaussian: standard deviation in 0-255 units (default "
              "10); salt-and-pepper: fraction of pixels in [0, 1] (default 0.05)", low=0,
              optional=True),
        Param("seed", "int", None, "Random seed: the same seed gives the same noise", low=0,
              optional=True),
    ),
    check=_check_noise,
    note=lambda params: f"{params['kind']} noise, clipped to 0-255",
    example="noise kind=salt-and-pepper amount=0.05 seed=1",
))


def _pool_window(params: Mapping[str, Any]):
    if params["size"] == "global":
        return None
    import numpy as np

    size = _checks.pair("size", params["size"])
    stride = size if params["stride"] is None else params["stride"]
    return np.ones(size), {"padding": params["padding"], "stride": stride}


def _pool_shape(shape: tuple, params: Mapping[str, Any]) -> tuple:
    if params["size"] == "global":
        return (shape[2] if len(shape) == 3 else 1,)
    from imgfilter import engine

    kernel, options = _pool_window(params)
    return engine.plan(shape, kernel, **options).output_shape


def _pool_alpha(op: Operation, alpha, params: Mapping[str, Any]):
    """Pooling pools alpha with the same window."""
    return op.apply(alpha, params)


def _check_pool(params: Mapping[str, Any]) -> None:
    if params["size"] == "global" and (
        params["stride"] is not None or params["padding"] != "valid"
    ):
        raise ValueError("global pooling takes no stride or padding: it pools the whole image")


register(Operation(
    "pool", "Pooling: max, avg or min over windows (size, stride, padding), or global.",
    "imgfilter.pooling:pool",
    params=(
        Param("size", "pair", 2, "Window N or H,W; 'global' gives one value per channel "
              "(printed)", units="pixels", low=1, words=("global",)),
        Param("stride", "pair", None, "Step between windows, S or SY,SX (default: the "
              "window)", units="pixels", low=1, optional=True),
        Param("mode", "choice", "max", "max, avg (mean) or min", choices=("max", "avg", "min")),
        Param("padding", "padding", "valid", _PADDING),
        Param("border", "choice", "edge", "What padded pixels hold", choices=BORDERS),
        Param("cval", "float", 0.0, "Value of padded pixels with --border constant"),
    ),
    mapping=None,
    window=_pool_window,
    geometry="window",
    shape=_pool_shape,
    alpha=_pool_alpha,
    check=_check_pool,
    weighted=False,
    note=lambda params: f"{params['mode']} pooling"
    + (" over the whole image: one value per channel" if params["size"] == "global" else ""),
    example="pool size=2 mode=max",
))
# fmt: on
