"""The built-in kernels, the lookup order, and kernel specs such as ``gaussian:sigma=2``.

:func:`get_kernel` finds a kernel by name: the built-in catalog first, then
``NAME.json`` in the folders on ``IMGFILTER_KERNEL_PATH``, then a path to a ``.json``
file. :func:`as_kernel` turns anything a user may write for a kernel (a spec, a path,
a matrix, a list of kernels) into a Kernel or a KernelBank, once.

>>> get_kernel("box", size=2).matrix
array([[0.25, 0.25],
       [0.25, 0.25]])
>>> resolve_kernel("gaussian:sigma=2,1,size=9").shape
(9, 9)
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from imgfilter import _checks
from imgfilter._checks import shown
from imgfilter.kernels._json import load_kernel, parse_kernel
from imgfilter.kernels._kernel import (
    MAX_KERNEL_SIDE,
    Kernel,
    KernelBank,
    as_kernel_matrix,
    dilate,
    format_matrix,
    gaussian_1d,
    gaussian_radius,
)
from imgfilter.params import MAX_DILATION, Param, parse_assignments, plug_kind, takes

_ENV_PATH = "IMGFILTER_KERNEL_PATH"


# --- anything a user writes for a kernel -> a Kernel or KernelBank -------------------------


def as_kernel(value: Any, name: str = "kernel") -> Kernel | KernelBank:
    """A Kernel or KernelBank from a spec, a path, inline JSON, a matrix or a list of kernels.

    Text starting with ``[`` or ``{`` is a kernel written inline: a JSON matrix or a whole
    kernel object, checked like a file, its faults named by ``name``.

    >>> as_kernel("sobel-x").name, as_kernel([[0, 1], [2, 3]]).name
    ('sobel-x', 'matrix')
    >>> as_kernel('{"matrix": [[1, 2, 1]], "divisor": 4}').matrix
    array([[0.25, 0.5 , 0.25]])
    >>> len(as_kernel(["sobel-x", "sobel-y"]))
    2
    """
    if isinstance(value, (Kernel, KernelBank)):
        return value
    if isinstance(value, os.PathLike):
        return get_kernel(value)
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{name} must be a kernel name or a .json path, got {shown(value)}")
        if value.lstrip().startswith(("[", "{")):
            return _inline(value.strip(), name)
        return resolve_kernel(value)
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(k, (str, os.PathLike, np.ndarray, Kernel)) for k in value)
    ):
        members = [as_kernel(k, f"{name}[{i}]") for i, k in enumerate(value)]
        if any(isinstance(k, KernelBank) for k in members):
            raise ValueError(f"{name}: a bank holds kernels, not other banks")
        return KernelBank("bank", tuple(members))
    return Kernel("matrix", as_kernel_matrix(value, name))


def _inline(text: str, name: str) -> Kernel | KernelBank:
    """A kernel written as JSON text; it names itself by that text (``spec``)."""
    try:
        data = _checks.parse_json(text, name)
    except ValueError as error:
        raise ValueError(
            f"{error} (received {shown(text)}: quote the whole kernel for the shell, "
            "as in --kernel '[[0,-1,0],[-1,5,-1],[0,-1,0]]')"
        ) from None
    if isinstance(data, list):
        data = {"matrix": data}
    if isinstance(data, dict):
        data = {"name": "inline", **data}
    kernel = parse_kernel(data, name)
    compact = json.dumps(data.get("matrix") if list(data) == ["name", "matrix"] else data)
    return replace(kernel, source=compact)


plug_kind("kernel", lambda name, value: as_kernel(value, name), "NAME[:K=V,...]|FILE.json")


def parse_kernel_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``"gaussian:sigma=2,size=7"`` into ``("gaussian", {"sigma": "2", "size": "7"})``.

    Pairs inside are written ``3,5`` or ``3x5`` (see :func:`imgfilter.params.parse_assignments`).
    A ``.json`` path is never split.

    >>> parse_kernel_spec("dilated:base=sobel-x,rate=2")
    ('dilated', {'base': 'sobel-x', 'rate': '2'})
    """
    spec = spec.strip()
    if ":" not in spec or spec.lower().endswith(".json"):
        return spec, {}
    name, _, rest = spec.partition(":")
    return name.strip(), parse_assignments([rest], repr(spec))


def resolve_kernel(spec: str, params: Mapping[str, str] | None = None) -> Kernel | KernelBank:
    """The Kernel or KernelBank named by ``spec`` (see :func:`parse_kernel_spec`).

    ``params`` adds parameters given as text, as ``kernels show gaussian sigma=2`` does.
    """
    name, given = parse_kernel_spec(spec)
    given.update(params or {})
    return get_kernel(name, **{key.replace("-", "_"): value for key, value in given.items()})


# --- the catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """A built-in kernel: its name, parameters, exact definition and builder.

    ``definition`` is the text ``imgfilter kernels show`` prints: the matrix as written
    (integers over a divisor) for a fixed kernel, the formula for a parametric one. The
    builder declares its parameters with :func:`imgfilter.params.takes`; ``help`` says
    what each one means.
    """

    name: str
    description: str
    source: str
    definition: str
    builder: Callable[..., Kernel | KernelBank] = field(repr=False)
    help: Mapping[str, str] = field(default_factory=dict)

    @property
    def params(self) -> Mapping[str, Param]:
        """Parameter name -> Param, in the builder's order."""
        return getattr(self.builder, "params", {})

    def default(self, name: str) -> Any:
        """The default of parameter ``name`` (None: chosen from the others)."""
        return self.builder.defaults.get(name)

    def build(self, **params: Any) -> Kernel | KernelBank:
        """Check ``params`` (text or values) and return the kernel.

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
            hint = _checks.did_you_mean(key, self.params)
            raise ValueError(
                f"kernel {shown(self.name)} has no parameter {shown(key)}{hint}; "
                f"its parameters: {', '.join(self.params)}"
            )
        for key in self.params:
            if key not in self.builder.defaults and params.get(key) is None:
                raise ValueError(f"kernel {self.name!r} needs {key}=...: {self.help.get(key)}")
        given = {k: v for k, v in params.items() if v is not None}
        label = self.name
        if given:
            values = self.builder.check_arguments(given)
            texts = (f"{k}={_param_text(v)}" for k, v in values.items() if v is not None)
            label += "(" + ", ".join(texts) + ")"
        return self.builder(label, **given)


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


def _check_side(what: str, shape: tuple[int, ...]) -> None:
    if max(shape) > MAX_KERNEL_SIDE:
        raise ValueError(
            f"{what} would be {_checks.size_text(shape)}, larger than the limit of "
            f"{MAX_KERNEL_SIDE} per side"
        )


_SIDE = "the limit of every kernel side"
_SIZE = Param("pair", high=MAX_KERNEL_SIDE, why=_SIDE)


@takes(image=False, size=Param("int", low=1, odd=True, high=MAX_KERNEL_SIDE, why=_SIDE))
def _build_identity(label: str, size: int = 3) -> Kernel:
    _check_side("identity kernel", (size, size))
    matrix = np.zeros((size, size))
    matrix[size // 2, size // 2] = 1.0
    return Kernel(label, matrix, "Returns the image unchanged.")


@takes(image=False, size=_SIZE)
def _build_box(label: str, size: tuple[int, int] = 3) -> Kernel:
    _check_side("box kernel", size)
    return Kernel(label, np.full(size, 1.0 / (size[0] * size[1])), "Mean of the window.")


@takes(image=False, sigma=Param("float-pair", low=0, low_open=True), size=_SIZE)
def _build_gaussian(label: str, sigma: Any = None, size: Any = None) -> Kernel:
    sigma = (None, None) if sigma is None else sigma
    size = (None, None) if size is None else size
    if sigma == (None, None) and size == (None, None):
        sigma = (1.0, 1.0)
    taps = []
    for s, n in zip(sigma, size, strict=True):
        if n is None and (s > MAX_KERNEL_SIDE or gaussian_radius(s) * 2 + 1 > MAX_KERNEL_SIDE):
            raise ValueError(
                f"gaussian sigma={s:g} would need more than {MAX_KERNEL_SIDE} taps per side, "
                f"the limit for a 2-D kernel; use a smaller sigma (or the gaussian operation)"
            )
        if n is not None:
            _check_side("gaussian kernel", (n,))
        taps.append(gaussian_1d(s, n))
    matrix = np.outer(taps[0], taps[1])
    return Kernel(label, matrix, "Sampled Gaussian blur, normalised to sum 1.")


@takes(
    image=False,
    base=Param("kernel"),
    rate=Param("pair", high=MAX_DILATION, why="a gap between taps; see convolve's dilation"),
)
def _build_dilated(label: str, base: Kernel | KernelBank, rate: tuple[int, int] = 2):
    kernels = base.kernels if isinstance(base, KernelBank) else (base,)
    kh, kw = kernels[0].shape[:2]
    side = (rate[0] * (kh - 1) + 1, rate[1] * (kw - 1) + 1)
    _check_side(f"kernel {base.name} at rate {_checks.size_text(rate)}", side)
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


_PARAMETRIC = (
    CatalogEntry(
        "identity",
        "Returns the image unchanged: 1 at the centre.",
        "built-in",
        "A size×size grid of zeros with 1 at the centre (size odd).",
        _build_identity,
        {"size": "side of the square kernel"},
    ),
    CatalogEntry(
        "box",
        "Box (mean) blur: every weight 1/size².",
        "built-in",
        "Every weight 1/(h·w) on an h×w grid; size=3 gives 1/9 × the 3×3 grid of ones.",
        _build_box,
        {"size": "window side, or height,width"},
    ),
    CatalogEntry(
        "gaussian",
        "Sampled Gaussian blur, normalised; separable.",
        "built-in",
        "g(x) = exp(-x² / 2σ²) at each tap offset x from the centre, divided by the sum;\n"
        "the 2-D kernel is the outer product of the column and row taps.\n"
        "sigma only: radius = int(4σ + 0.5), 2·radius + 1 taps (scipy's truncate=4).\n"
        "size only: σ = 0.3·((size - 1)/2 - 1) + 0.8 (OpenCV's rule).\n"
        "Neither: sigma = 1. An even size puts the taps at half-pixel offsets.",
        _build_gaussian,
        {
            "sigma": "standard deviation in pixels (or sy,sx); 1 if size is not given either",
            "size": "number of taps per side (or h,w); from sigma if not given",
        },
    ),
    CatalogEntry(
        "dilated",
        "Any kernel with gaps between its taps (atrous).",
        "built-in",
        "The base kernel with rate - 1 zeros between neighbouring taps: a k×k kernel\n"
        "at rate r covers r·(k - 1) + 1 pixels per side (3×3 at rate 2 -> 5×5).",
        _build_dilated,
        {"base": "the kernel to dilate: a catalog name or a .json file", "rate": "dilation rate"},
    ),
)

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


def _builtin_folder() -> Path:
    """The folder of fixed-kernel JSON files: inside the installed package, else the
    checkout. (A plain path: ``importlib.resources`` costs 3 ms of imports per run.)"""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "builtin_kernels"
    return packaged if packaged.is_dir() else here.parents[2] / "kernels"


def _fixed_entry(folder_item) -> CatalogEntry:
    source = str(folder_item)
    data = json.loads(folder_item.read_text(encoding="utf-8"))
    kernel = parse_kernel(data, source)
    kernel = Kernel(kernel.name, kernel.matrix, kernel.description, "built-in")
    definition = format_matrix(data["matrix"], data.get("divisor"))
    if data.get("normalize"):
        definition += "\nnormalised to sum 1"

    @takes(image=False)
    def builder(label: str) -> Kernel:
        return kernel

    return CatalogEntry(kernel.name, kernel.description, source, definition, builder)


@functools.lru_cache(maxsize=1)
def _entries() -> dict[str, CatalogEntry]:
    found = {e.name: e for e in _PARAMETRIC}
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
    hint = _checks.did_you_mean(_canonical(name), names, n=3)
    return ValueError(
        f"unknown kernel {shown(name)}{hint}; run `imgfilter kernels list` to see the built-in "
        "kernels, or give a path to a .json file"
    )


def catalog_entry(name: str) -> CatalogEntry:
    """Return the built-in entry called ``name`` (case and ``_``/``-`` do not matter)."""
    if not isinstance(name, str):
        raise TypeError(f"kernel name must be a string, got {shown(name)}")
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
    **params : the catalog kernel's parameters, e.g. ``sigma=2`` for ``gaussian``;
        values or text in the one grammar (``size="5,3"``).

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
        raise TypeError(f"kernel name must be a non-empty string or a path, got {shown(name)}")
    entry = _entries().get(_canonical(name))
    if entry is not None:
        return entry.build(**params)
    path = None
    if name.lower().endswith(".json"):
        path = Path(name)
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
