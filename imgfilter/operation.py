"""What one operation is: the function it runs, the options it exposes, and its geometry.

An :class:`Operation` names a library function (``"imgfilter.ops.filters:gaussian"``)
and the parameters of it that users set. Kinds, bounds and defaults are the function's
own, declared once with :func:`imgfilter.params.takes`: validating a step calls the
function's own checks, so the command line, pipelines and Python share every rule and
every message. The function is imported on first use, so listing operations (and
``imgfilter --help``) needs no numpy.

>>> from imgfilter.registry import get_operation
>>> get_operation("gaussian").validate({"sigma": "2"})
{'sigma': 2.0, 'size': None, 'border': 'reflect'}
>>> get_operation("gaussian").validate({"sigma": "-1"})
Traceback (most recent call last):
...
ValueError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imgfilter import _checks

_UNSET = object()


@dataclass(frozen=True)
class Option:
    """A parameter an operation exposes: ``--range-sigma`` on the command line and
    ``range-sigma=`` in a step, for the function's argument ``range_sigma``."""

    name: str
    help: str
    units: str = ""

    @property
    def key(self) -> str:
        """The pipeline spelling, ``range-sigma`` (``range_sigma`` is accepted too)."""
        return self.name.replace("_", "-")

    @property
    def flag(self) -> str:
        """The command-line spelling, ``--range-sigma``."""
        return "--" + self.key

    @property
    def full_help(self) -> str:
        return f"{self.help} ({self.units})" if self.units else self.help


@dataclass(frozen=True)
class Operation:
    """One operation, declared once in :mod:`imgfilter.registry`.

    ``target`` is ``"module:function"``, called as ``function(image, **params)``.
    ``mapping`` is the natural output mapping, a mode name or a function of the
    parameters; None keeps the previous step's (``grayscale`` keeps the value range).
    ``window(params)`` returns ``(kernel, engine options)`` for the step's window (to
    explain it and to move alpha), or None; ``geometry`` is ``"window"`` when the
    window changes the size. ``shape`` replaces the size rule, ``alpha`` the alpha rule,
    ``note`` adds a line to ``--explain``; ``weighted`` is False for windows without
    weights (pooling). ``averages`` (a bool or a function of the parameters) marks the
    steps that average neighbours: in a pipeline they filter premultiplied colour and
    alpha with the same window (see :meth:`carry`). ``barrier`` (a bool or a function of
    the parameters) marks steps that need the whole image at once (global statistics,
    connectivity, seeded noise); every other step with a window is computed in strips.
    """

    name: str
    help: str
    target: str
    options: tuple[Option, ...] = ()
    mapping: str | Callable[[Mapping], str] | None = "clip"
    aliases: tuple[str, ...] = ()
    description: str = ""
    window: Callable[[Mapping], tuple[Any, dict] | None] | None = None
    gray: bool = False
    geometry: str = "same"
    alpha: Callable[..., Any] | None = None
    example: str = ""
    note: Callable[[Mapping], str] | None = None
    shape: Callable[[tuple, Mapping], tuple] | None = None
    weighted: bool = True
    averages: bool | Callable[[Mapping], bool] = False
    barrier: bool | Callable[[Mapping], bool] = False
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {}
        for option in self.options:
            index[option.name] = option
            index[option.key] = option
        object.__setattr__(self, "_index", index)

    def function(self) -> Callable[..., Any]:
        """The Python function this operation runs (imported now)."""
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def option(self, key: str) -> Option:
        """The option spelt ``key`` (``range-sigma`` or ``range_sigma``)."""
        try:
            return self._index[key]
        except KeyError:
            keys = [o.key for o in self.options]
            if not keys:
                raise ValueError(f"{self.name} takes no parameters, got {key!r}") from None
            hint = _checks.did_you_mean(key.replace("_", "-"), keys)
            raise ValueError(
                f"{self.name} has no parameter {key!r}{hint}; it takes {', '.join(keys)}"
            ) from None

    def param(self, name: str):
        """The :class:`~imgfilter.params.Param` the function declares for ``name``."""
        return self.function().params[name]

    def default(self, name: str) -> Any:
        """The function's default for ``name`` (None when it has none: see ``required``)."""
        return self.function().defaults.get(name)

    def required(self, name: str) -> bool:
        """True when the function has no default for ``name``."""
        return name not in self.function().defaults

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Checked parameters with defaults filled in, keyed by the function's names.

        ``values`` hold text (a step, an option) or Python values (JSON, the API).
        """
        given = {self.option(key).name: value for key, value in values.items()}
        for option in self.options:
            if option.name not in given and self.required(option.name):
                raise ValueError(f"{self.name} needs {option.key}=...")
        checked = self.function().check_arguments(given)
        return {option.name: checked[option.name] for option in self.options}

    def natural_mapping(self, params: Mapping[str, Any]) -> str | None:
        """The output mapping this step asks for, or None to keep the previous one."""
        return self.mapping(params) if callable(self.mapping) else self.mapping

    def apply(self, image, params: Mapping[str, Any]):
        """Run the operation on an image (no alpha: float32, or uint8 for a function that
        ``reads_bytes``) and return a float32 image."""
        import numpy as np

        result = np.asarray(self.function()(image, **params))
        if result.dtype == bool:
            return np.multiply(result, np.float32(255), dtype=np.float32)
        return result.astype(np.float32, copy=False)

    def needs_whole_image(self, params: Mapping[str, Any]) -> bool:
        """True when the step cannot run strip by strip: a barrier, or a window that wraps
        around (``border=wrap`` reads the far edge of the image).

        >>> from imgfilter.registry import get_operation
        >>> gaussian = get_operation("gaussian")
        >>> gaussian.needs_whole_image(gaussian.validate({"border": "wrap"}))
        True
        """
        if _flag(self.barrier, params):
            return True
        return self.window is not None and params.get("border") == "wrap"

    def window_of(self, params: Mapping[str, Any]) -> tuple[Any, dict] | None:
        """``(kernel, engine options)`` of this step's window, or None."""
        return None if self.window is None else self.window(params)

    def plan(self, shape: tuple[int, ...], params: Mapping[str, Any], window=_UNSET):
        """engine.plan for this step on an image of ``shape``, or None for pixel-wise steps.

        ``window`` is this step's :meth:`window_of` when the caller has it already.
        """
        window = self.window_of(params) if window is _UNSET else window
        if window is None:
            return None
        from imgfilter import engine

        kernel, options = window
        return engine.plan(shape, kernel, **options)

    def output_shape(self, shape: tuple[int, ...], params: Mapping[str, Any], plan=None):
        """Shape of the result on an image of ``shape`` (colour channels only).

        ``plan`` is this step's plan when the caller has made it already.
        """
        if self.shape is not None:
            return tuple(self.shape(tuple(shape), params))
        if self.geometry != "same":
            plan = plan or self.plan(shape, params)
            if plan is not None:
                shape = tuple(plan.output_shape)
        return tuple(shape[:2]) if self.gray else tuple(shape)

    def carry(self, colour, alpha, params: Mapping[str, Any], mode: str = "premultiply"):
        """Run the step on colour with its alpha plane: ``(colour, alpha)`` after the step.

        ``premultiply`` (for steps that average neighbours): colour × alpha and alpha are
        filtered with the same window, then the colour is divided by the new alpha, so
        colour under transparent pixels never bleeds into visible ones; where the new
        alpha is 0 the colour is 0. ``follow`` (and every other step): the colour is
        filtered, alpha follows the step's geometry. ``alpha`` None: colour only.

        Green hidden under transparent pixels stays out of the red one they surround:

        >>> import numpy as np
        >>> box = Operation("box", "Box blur.", "imgfilter.ops.filters:box", averages=True)
        >>> rgb = np.array([[[0.0, 255, 0], [255, 0, 0], [0, 255, 0]]])
        >>> colour, alpha = box.carry(rgb, np.array([[0.0, 255, 0]]), {"size": 3})
        >>> colour[0].round(3).tolist(), alpha.round(1).tolist()
        ([[255.0, 0.0, 0.0], [255.0, 0.0, 0.0], [255.0, 0.0, 0.0]], [[170.0, 85.0, 170.0]])
        """
        if alpha is None:
            return self.apply(colour, params), None
        if mode != "premultiply" or not _flag(self.averages, params):
            return self.apply(colour, params), self.apply_alpha(alpha, params)
        import numpy as np

        from imgfilter.image import join_alpha, split_alpha

        weight = alpha[..., None] / np.float32(255) if colour.ndim == 3 else alpha / 255
        stacked = join_alpha((colour * weight).astype(np.float32), alpha)
        premultiplied, alpha = split_alpha(self.apply(stacked, params))
        alpha = np.clip(alpha, 0, 255)
        scale = np.divide(np.float32(255), alpha, out=np.zeros_like(alpha), where=alpha > 0)
        colour = premultiplied * (scale[..., None] if premultiplied.ndim == 3 else scale)
        return colour, alpha

    def keeps_alpha(self) -> bool:
        """False for steps whose result carries no alpha (an edge map is opaque)."""
        return self.alpha is not drop_alpha

    def apply_alpha(self, alpha, params: Mapping[str, Any]):
        """Carry an alpha plane (H, W) through this step's geometry."""
        if self.alpha is not None:
            return self.alpha(self, alpha, params)
        window = self.window_of(params)
        if self.geometry == "same" or window is None:
            return alpha
        return window_centres(alpha, *window)


def drop_alpha(op: Operation, alpha, params: Mapping[str, Any]) -> None:
    """The ``alpha`` rule of a step whose result is opaque: the alpha plane is dropped."""
    return None


def _flag(value: bool | Callable[[Mapping], bool], params: Mapping[str, Any]) -> bool:
    return bool(value(params) if callable(value) else value)


def window_centres(alpha, kernel, options: Mapping[str, Any]):
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
