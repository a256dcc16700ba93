"""The table of operations: one ``register(Operation(...))`` per command and pipeline step.

From each declaration come the command ``imgfilter gaussian --sigma 2``, the pipeline
step ``gaussian sigma=2``, their help text, the output mapping used when saving
(``clip`` for smoothing, ``abs`` for signed edge responses) and how the operation moves
pixels (so alpha can follow). Kinds, bounds and defaults are the library function's
own (see :mod:`imgfilter.operation`). To add an operation: write the function with
``@takes(...)`` in :mod:`imgfilter.ops`, then register it here.

This module imports neither numpy nor the operations.

>>> get_operation("mean").name
'box'
>>> get_operation("gausian")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown operation 'gausian' (did you mean 'gaussian'?); see ...
>>> get_operation("median")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown operation 'median' (did you mean 'denoise method=median'?); see ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imgfilter import _checks
from imgfilter.operation import Operation, Option, drop_alpha

OPERATIONS: dict[str, Operation] = {}
_ALIASES: dict[str, str] = {}


def register(op: Operation) -> Operation:
    """Add ``op`` to the table (its name and aliases must be new)."""
    for name in (op.name, *op.aliases):
        if name in OPERATIONS or name in _ALIASES:
            raise ValueError(f"operation {name!r} is already registered")
    OPERATIONS[op.name] = op
    for alias in op.aliases:
        _ALIASES[alias] = op.name
    return op


def names() -> list[str]:
    """Every operation name and alias, sorted."""
    return sorted([*OPERATIONS, *_ALIASES])


def get_operation(name: str) -> Operation:
    """The operation called ``name`` (or one of its aliases), with a did-you-mean."""
    name = _ALIASES.get(name, name)
    if name in OPERATIONS:
        return OPERATIONS[name]
    raise ValueError(
        f"unknown operation {name!r}{did_you_mean(name)}; see 'imgfilter --help' for the list"
    )


# Words users try, from other tools, and the operation (with parameters) that does it.
HINTS: dict[str, tuple[tuple[str, dict[str, str]], ...]] = {
    "median": (("denoise", {"method": "median"}),),
    "bilateral": (("denoise", {"method": "bilateral"}),),
    "nlm": (("denoise", {"method": "nlm"}),),
    "non-local-means": (("denoise", {"method": "nlm"}),),
    "blur": (("gaussian", {}),),
    "smooth": (("gaussian", {}),),
    "average": (("box", {}),),
    "edges": (("sobel", {}), ("canny", {})),
    "edge": (("sobel", {}), ("canny", {})),
    "gray": (("grayscale", {}),),
    "grey": (("grayscale", {}),),
    "greyscale": (("grayscale", {}),),
    "maxpool": (("pool", {"mode": "max"}),),
    "avgpool": (("pool", {"mode": "avg"}),),
    "normalize": (("rescale", {"mode": "minmax"}),),
    "normalise": (("rescale", {"mode": "minmax"}),),
    "stretch": (("rescale", {"mode": "minmax"}),),
    "usm": (("unsharp", {}),),
    "conv": (("convolve", {}),),
    "filter": (("convolve", {}),),
    "filter2d": (("convolve", {}),),
    "prewitt": (("convolve", {"kernel": "prewitt-x"}),),
    "scharr": (("convolve", {"kernel": "scharr-x"}),),
    "salt-and-pepper": (("noise", {"kind": "salt-and-pepper"}),),
}


def did_you_mean(word: str, style: str = "step", known: Sequence[str] | None = None) -> str:
    """The hint after an unknown operation: a word from :data:`HINTS`, else the closest name.

    ``style`` writes it as a pipeline step or as a ``command`` line; ``known`` are the
    names to look among (default: the operations).

    >>> did_you_mean("median", style="command")
    " (did you mean 'denoise --method median'?)"
    >>> did_you_mean("edges")
    " (did you mean 'sobel' or 'canny'?)"
    """
    hints = HINTS.get(str(word).strip().lower().replace("_", "-"))
    if hints is None:
        return _checks.did_you_mean(word, names() if known is None else known)
    texts = []
    for name, params in hints:
        op = OPERATIONS[name]
        if style == "command":
            words = [f"{op.option(k).flag} {v}" for k, v in params.items()]
        else:
            words = [f"{op.option(k).key}={v}" for k, v in params.items()]
        texts.append(" ".join([name, *words]))
    return f" (did you mean {' or '.join(repr(t) for t in texts)}?)"


# --- hooks shared by several declarations ------------------------------------------------

_BORDER = Option("border", "What the pixels beyond the edge hold")
_PADDING = Option("padding", "valid, same, P, PY,PX or TOP,BOTTOM,LEFT,RIGHT")


def _catalog_window(name: str, **kernel_params: Any):
    from imgfilter.kernels import get_kernel

    return get_kernel(name, **kernel_params), {}


def _gaussian_window(params: Mapping[str, Any]):
    """The Gaussian kernel, or its footprint when it is too large to build as a matrix."""
    if params.get("sigma") == 0:
        return None
    from imgfilter import engine
    from imgfilter.kernels import MAX_KERNEL_SIDE, gaussian_1d

    sigma, size = params["sigma"], params.get("size") or (None, None)
    sides = tuple(gaussian_1d(sigma, n).size for n in size)
    if max(sides) <= MAX_KERNEL_SIDE:
        return _catalog_window("gaussian", sigma=sigma, size=params.get("size"))
    return engine.Footprint(sides, "separable", f"gaussian(sigma={sigma:g})"), {}


def _kernel_mapping(params: Mapping[str, Any]) -> str:
    """abs for zero-sum (edge) kernels, whose responses are signed; clip otherwise."""
    members = getattr(params["kernel"], "kernels", (params["kernel"],))
    return "abs" if any(abs(k.sum) < 1e-9 for k in members) else "clip"


def _averages(params: Mapping[str, Any]) -> bool:
    """A 2-D kernel of weights all >= 0 averages its window (a bank makes maps, and a 3-D
    kernel sums the channels into one map: neither is a picture with alpha)."""
    kernel = params["kernel"]
    if hasattr(kernel, "kernels") or kernel.matrix.ndim != 2:
        return False
    return float(kernel.matrix.min()) >= 0


def _convolve_window(params: Mapping[str, Any]):
    return params["kernel"], {k: params[k] for k in ("padding", "stride", "dilation")}


# --- the declarations ----------------------------------------------------------------------
# fmt: off

register(Operation(
    "convolve", "Slide any kernel over the image (cross-correlation, no flip).",
    "imgfilter.engine:convolve",
    options=(
        Option("kernel", "Catalog name (with :key=value,... parameters) or a kernel .json "
               "file; see 'imgfilter kernels list'"),
        _PADDING,
        _BORDER,
        Option("cval", "Value of the padded pixels with --border constant"),
        Option("stride", "Step between windows, S or SY,SX", "pixels"),
        Option("dilation", "Gap between kernel taps, D or DY,DX (2 spreads a 3x3 over 5x5)"),
        Option("flip", "Rotate the kernel 180 degrees (true convolution)"),
    ),
    mapping=_kernel_mapping,
    window=_convolve_window,
    geometry="window",
    averages=_averages,
    description="Output size per axis: floor((N + pad_before + pad_after - (d*(k-1)+1)) / s)"
    " + 1. Saved with 'abs' when the kernel sums to 0 (edge kernels), else 'clip'.",
    example="convolve kernel=sobel-x padding=valid stride=2",
))

register(Operation(
    "gaussian", "Gaussian blur.", "imgfilter.ops.filters:gaussian",
    options=(
        Option("sigma", "Gaussian standard deviation", "pixels"),
        Option("size", "Kernel size N or H,W (odd); by default 2*int(4*sigma+0.5)+1",
               "pixels"),
        _BORDER,
    ),
    window=_gaussian_window,
    averages=True,
    example="gaussian sigma=2",
))

register(Operation(
    "box", "Box (mean) blur: every pixel becomes the average of its window.",
    "imgfilter.ops.filters:box",
    options=(Option("size", "Window N or H,W", "pixels"), _BORDER),
    aliases=("mean",),
    window=lambda params: _catalog_window("box", size=params["size"]),
    averages=True,
    example="box size=5",
))

register(Operation(
    "sobel", "Sobel edges: x (vertical edges), y (horizontal edges) or the magnitude.",
    "imgfilter.ops.filters:sobel",
    options=(
        Option("direction", "x: brightness rising to the right; y: the seeds' horizontal-"
               "edge kernel; magnitude: sqrt(x^2 + y^2)"),
        _BORDER,
    ),
    mapping=lambda params: "clip" if params["direction"] == "magnitude" else "abs",
    window=lambda params: _catalog_window("sobel-y" if params["direction"] == "y" else "sobel-x"),
    example="sobel direction=x",
))

register(Operation(
    "laplacian", "Laplacian (second derivative): 4- or 8-neighbour kernel.",
    "imgfilter.ops.filters:laplacian",
    options=(Option("kind", "Neighbours: 4 ([0 -1 0; -1 4 -1; 0 -1 0]) or 8"), _BORDER),
    mapping="abs",
    window=lambda params: _catalog_window("laplacian" if params["kind"] == 4 else "laplacian8"),
))

register(Operation(
    "sharpen", "Sharpen with the kernel [0 -1 0; -1 5 -1; 0 -1 0].",
    "imgfilter.ops.filters:sharpen",
    options=(_BORDER,),
    window=lambda params: _catalog_window("sharpen"),
    averages=True,
))

register(Operation(
    "unsharp", "Unsharp mask: image + amount * (image - gaussian(image, sigma)).",
    "imgfilter.ops.filters:unsharp",
    options=(
        Option("sigma", "Standard deviation of the blur that is subtracted", "pixels"),
        Option("amount", "Strength of the sharpening"),
        Option("threshold", "Leave pixels whose difference is below this", "0-255 scale"),
        _BORDER,
    ),
    window=_gaussian_window,
    averages=True,
))

register(Operation(
    "rescale", "Map values into 0-255: clip, minmax (stretch), abs, or none (keep floats).",
    "imgfilter.image:rescale",
    options=(
        Option("mode", "clip: clamp; minmax: min->0, max->255; abs: |x| then clamp; none: "
               "unchanged"),
        Option("per_channel", "With minmax, stretch each channel on its own"),
    ),
    mapping=lambda params: params["mode"],
    barrier=lambda params: params["mode"] == "minmax",
    example="rescale mode=minmax",
))

register(Operation(
    "grayscale", "Convert colour to luminance (0.299 R + 0.587 G + 0.114 B).",
    "imgfilter.ops.filters:grayscale",
    mapping=None,
    gray=True,
))

register(Operation(
    "relu", "Rectified linear unit: negative values become 0.",
    "imgfilter.ops.filters:relu",
))

register(Operation(
    "leaky-relu", "Leaky ReLU: negative values are multiplied by slope.",
    "imgfilter.ops.filters:leaky_relu",
    options=(Option("slope", "Factor applied to negative values"),),
))

register(Operation(
    "canny", "Canny edges: a one-pixel-wide edge map saved as 0 and 255.",
    "imgfilter.ops.canny:canny",
    options=(
        Option("sigma", "Gaussian smoothing before the gradients; 0 skips it", "pixels"),
        Option("low", "Weak-edge threshold on the L2 Sobel gradient magnitude (OpenCV's "
               "units; half of high if only high is given)", "0-255 scale"),
        Option("high", "Strong-edge threshold on the same magnitude (twice low if only low "
               "is given)", "0-255 scale"),
        Option("quantiles", "Thresholds as quantiles LOW,HIGH of the gradient magnitude "
               "instead, e.g. 0.7,0.9"),
    ),
    gray=True,
    barrier=True,
    alpha=drop_alpha,
    window=_gaussian_window,
    note=lambda params: "Gaussian smoothing (below), 3×3 Sobel gradients, non-maximum"
    " suppression, double threshold and hysteresis",
    description="Colour is converted to luminance first. Without thresholds they are chosen"
    " automatically from the gradient magnitudes.",
    example="canny sigma=2 low=20 high=60",
))


def _denoise_window(params: Mapping[str, Any]):
    method = params["method"]
    if method == "mean":
        return _catalog_window("box", **({"size": params["size"]} if params["size"] else {}))
    import numpy as np

    from imgfilter.ops.denoise import window_side
    from imgfilter.ops.filters import gaussian

    if method == "gaussian":
        return _gaussian_window({"sigma": params["sigma"] or gaussian.defaults["sigma"]})

    keys = ("size", "sigma", "patch", "search")
    return np.ones((window_side(method, **{k: params[k] for k in keys}),) * 2), {}


def _denoise_note(params: Mapping[str, Any]) -> str:
    side = (params["size"] or (3, 3))[0]
    return {
        "median": f"median over a {side}×{side} window",
        "bilateral": "bilateral: Gaussian in space × Gaussian in colour, over a round window",
        "nlm": "non-local means: patches compared over a search window",
    }.get(params["method"], "")


register(Operation(
    "denoise", "Remove noise: mean, median, gaussian, bilateral or non-local means (nlm).",
    "imgfilter.ops.denoise:denoise",
    options=(
        Option("method", "mean, median (salt-and-pepper), gaussian, bilateral (keeps edges) "
               "or nlm (non-local means)"),
        Option("size", "Window side for mean (N or H,W), median (odd, default 3) and "
               "bilateral (odd; default from sigma)", "pixels"),
        Option("sigma", "Spatial standard deviation for gaussian (default 1) and bilateral "
               "(default 2)", "pixels"),
        Option("sigma_range", "Bilateral colour standard deviation (default 30)",
               "0-255 scale"),
        Option("h", "nlm strength, about the noise sigma (default 10)", "0-255 scale"),
        Option("patch", "nlm patch side (odd, default 5)", "pixels"),
        Option("search", "nlm search window side (odd, default 11)", "pixels"),
        _BORDER,
    ),
    window=_denoise_window,
    averages=True,
    note=_denoise_note,
    description="Colour images are filtered per channel, except bilateral and nlm, which"
    " compare whole colours.",
    example="denoise method=bilateral sigma=3 sigma-range=25",
))

register(Operation(
    "noise", "Add noise (for testing denoisers): gaussian or salt-and-pepper, seeded.",
    "imgfilter.ops.noise:add_noise",
    options=(
        Option("kind", "gaussian or salt-and-pepper"),
        Option("amount", "gaussian: standard deviation in 0-255 units (default 10); "
               "salt-and-pepper: fraction of pixels in [0, 1] (default 0.05)"),
        Option("seed", "Random seed: the same seed gives the same noise"),
    ),
    barrier=True,
    note=lambda params: f"{params['kind']} noise, clipped to 0-255",
    example="noise kind=salt-and-pepper amount=0.05 seed=1",
))


def _pool_window(params: Mapping[str, Any]):
    if params["size"] == "global":
        return None
    import numpy as np

    stride = params["size"] if params["stride"] is None else params["stride"]
    return np.ones(params["size"]), {"padding": params["padding"], "stride": stride}


def _pool_shape(shape: tuple, params: Mapping[str, Any]) -> tuple:
    if params["size"] == "global":
        return (shape[2] if len(shape) == 3 else 1,)
    from imgfilter import engine

    kernel, options = _pool_window(params)
    return engine.plan(shape, kernel, **options).output_shape


def _pool_alpha(op: Operation, alpha, params: Mapping[str, Any]):
    """Pooling pools alpha with the same window."""
    return op.apply(alpha, params)


register(Operation(
    "pool", "Pooling: max, avg or min over windows (size, stride, padding), or global.",
    "imgfilter.ops.pool:pool",
    options=(
        Option("size", "Window N or H,W; 'global' gives one value per channel (printed)",
               "pixels"),
        Option("stride", "Step between windows, S or SY,SX (default: the window)", "pixels"),
        Option("mode", "max, avg (mean) or min"),
        _PADDING,
        Option("border", "What padded pixels hold"),
        Option("cval", "Value of padded pixels with --border constant"),
    ),
    mapping=None,
    window=_pool_window,
    geometry="window",
    shape=_pool_shape,
    alpha=_pool_alpha,
    weighted=False,
    averages=lambda params: params["mode"] == "avg",
    barrier=lambda params: params["size"] == "global",
    note=lambda params: f"{params['mode']} pooling"
    + (" over the whole image: one value per channel" if params["size"] == "global" else ""),
    example="pool size=2 mode=max",
))
# fmt: on
