"""The compiled kernels, when they were built, and which engine is in use.

The kernels are Cython modules beside this file (``_quantise.pyx``, ...), built by
``setup.py`` when a C compiler is present. Each mirrors a numpy routine of the
engine and gives the same result bit for bit where that routine is exact (tests
run both on the same inputs). ``IMGFILTER_PURE=1`` in the environment forces the
numpy engine; a build without a compiler falls back to it on its own.

>>> kernels = module("_quantise")
>>> kernels is None or callable(kernels.quantise)
True
"""

from __future__ import annotations

import importlib
import os
from functools import cache

PURE_VARIABLE = "IMGFILTER_PURE"
MODULES = ("_quantise", "_taps", "_median", "_bilateral", "_canny", "_pool")
"""Every compiled module the package may carry (a missing one falls back alone)."""


def pure() -> bool:
    """True when the environment asks for the numpy engine."""
    return os.environ.get(PURE_VARIABLE, "").strip() not in ("", "0")


@cache
def _load(name: str):
    try:
        return importlib.import_module(f"imgfilter._native.{name}")
    except ImportError:
        return None


def module(name: str):
    """The compiled module ``name``, or None (not built, or ``IMGFILTER_PURE=1``)."""
    if pure():
        return None
    return _load(name)


def engine() -> str:
    """One line naming the engine in use, for ``--version`` and ``info``.

    >>> engine().split()[0] in ("compiled", "numpy")
    True
    """
    if pure():
        return f"numpy (forced by {PURE_VARIABLE}=1)"
    built = [name.lstrip("_") for name in MODULES if _load(name) is not None]
    if not built:
        return "numpy (the compiled kernels were not built: no C compiler at install time?)"
    missing = [name.lstrip("_") for name in MODULES if _load(name) is None]
    text = "compiled (Cython kernels: " + ", ".join(built) + ")"
    return text + (f"; numpy for {', '.join(missing)}" if missing else "")
