"""Every option set of imgfilter, declared once.

The library checks against these, the command line builds its choices and help from
them, and nothing here imports numpy, so ``imgfilter --help`` stays fast.

>>> BORDERS
('constant', 'reflect', 'symmetric', 'edge', 'wrap')
"""

BORDERS = ("constant", "reflect", "symmetric", "edge", "wrap")
"""What padded pixels hold (numpy.pad's names); see :mod:`imgfilter.engine`."""

PADDING_WORDS = ("valid", "same")
"""The padding words; a padding can also be a number of pixels."""

STRATEGIES = ("direct", "separable", "fft")
"""How the engine computes a 2-D kernel."""

ALPHA_MODES = ("premultiply", "follow", "drop")
"""How a pipeline treats alpha: averaging steps filter premultiplied colour and alpha
together (premultiply), alpha follows each step's geometry only (follow), or it goes."""

RESCALE_MODES = ("clip", "minmax", "abs", "none")
"""How float results map into 0-255 when saved; see :func:`imgfilter.rescale`."""

DEPTHS = (8, 16)
"""Bits per sample of a saved file."""

SOBEL_DIRECTIONS = ("x", "y", "magnitude")
LAPLACIAN_KINDS = (4, 8)
POOL_MODES = ("max", "avg", "min")
DENOISE_METHODS = ("mean", "median", "gaussian", "bilateral", "nlm")
NOISE_KINDS = ("gaussian", "salt-and-pepper")

POOL_MODE_ALIASES = {"average": "avg", "mean": "avg"}
"""Other names of the pooling modes, accepted and shown in help as the canonical one."""

BORDER_HINTS = {
    "mirror": "scipy's 'mirror' is 'reflect'",
    "grid-mirror": "scipy's 'grid-mirror' is 'symmetric'",
    "nearest": "scipy's 'nearest' is 'edge'",
    "grid-wrap": "scipy's 'grid-wrap' is 'wrap'",
    "grid-constant": "scipy's 'grid-constant' is 'constant'",
    "replicate": "OpenCV's BORDER_REPLICATE is 'edge'",
    "border-replicate": "OpenCV's BORDER_REPLICATE is 'edge'",
    "border-reflect": "OpenCV's BORDER_REFLECT is 'symmetric'",
    "reflect-101": "OpenCV's BORDER_REFLECT_101 is 'reflect'",
    "reflect101": "OpenCV's BORDER_REFLECT_101 is 'reflect'",
    "border-reflect-101": "OpenCV's BORDER_REFLECT_101 is 'reflect'",
    "border-reflect101": "OpenCV's BORDER_REFLECT_101 is 'reflect'",
    "border-default": "OpenCV's BORDER_DEFAULT is 'reflect'",
    "border-constant": "OpenCV's BORDER_CONSTANT is 'constant'",
    "border-wrap": "OpenCV's BORDER_WRAP is 'wrap'",
    "zeros": "PyTorch's 'zeros' is 'constant' with cval 0",
    "circular": "PyTorch's 'circular' is 'wrap'",
}
"""Border names of scipy.ndimage, OpenCV and PyTorch, each with imgfilter's word for it.

They are refused with this hint, never accepted: scipy's ``reflect`` is imgfilter's
``symmetric``, so a silent alias would give wrong pixels.
"""
