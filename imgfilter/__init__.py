"""imgfilter: classical image filtering for the shell and for Python.

>>> import imgfilter as imf
>>> import numpy as np
>>> imf.convolve(np.arange(9.0).reshape(3, 3), np.array([[0, 1], [2, 3]]), padding="valid")
array([[19., 25.],
       [37., 43.]], dtype=float32)

Names are imported on first use, so that ``import imgfilter`` (and the command
line's ``--help``) stays fast and does not load scipy.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load": "io",
    "save": "io",
    "Kernel": "kernels",
    "KernelBank": "kernels",
    "get_kernel": "kernels",
    "load_kernel": "kernels",
    "convolve": "engine",
    "output_shape": "engine",
    "rescale": "image",
    "gaussian": "ops.filters",
    "box": "ops.filters",
    "sobel": "ops.filters",
    "laplacian": "ops.filters",
    "sharpen": "ops.filters",
    "unsharp": "ops.filters",
    "grayscale": "ops.filters",
    "relu": "ops.filters",
    "leaky_relu": "ops.filters",
    "canny": "ops.canny",
    "denoise": "ops.denoise",
    "add_noise": "ops.noise",
    "pool": "ops.pool",
    "psnr": "ops.metrics",
    "ssim": "ops.metrics",
    "Pipeline": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imgfilter' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"imgfilter.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
