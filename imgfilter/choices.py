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

RESCALE_MODES = ("clip", "minmax", "abs", "none")
"""How float results map into 0-255 when saved; see :func:`imgfilter.rescale`."""

DEPTHS = (8, 16)
"""Bits per sample of a saved file."""

SOBEL_DIRECTIONS = ("x", "y", "magnitude")
LAPLACIAN_KINDS = (4, 8)
POOL_MODES = ("max", "avg", "min")
DENOISE_METHODS = ("mean", "median", "gaussian", "bilateral", "nlm")
NOISE_KINDS = ("gaussian", "salt-and-pepper")
