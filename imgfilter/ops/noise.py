"""Synthetic noise, seeded, for testing denoisers: Gaussian or salt-and-pepper.

>>> import numpy as np
>>> add_noise(np.zeros((2, 3)), "gaussian", amount=0).tolist()
[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

from imgfilter._checks import in_range
from imgfilter.choices import NOISE_KINDS
from imgfilter.params import Param, takes


def _check_amount(arguments: dict) -> None:
    if arguments["kind"] == "salt-and-pepper" and arguments["amount"] is not None:
        in_range("amount", arguments["amount"], 0, 1)


@takes(
    kind=Param("choice", choices=NOISE_KINDS),
    amount=Param("float", low=0),
    seed=Param("int", low=0),
    also=_check_amount,
)
def add_noise(
    image, kind: str = "gaussian", amount: float | None = None, *, seed: int | None = None
) -> np.ndarray:
    """Add synthetic noise; the result is clipped to [0, 255].

    Parameters
    ----------
    image : array (H, W) or (H, W, C), 0-255 scale
    kind : ``gaussian`` (``amount`` = standard deviation in 0-255 units, default 10)
        or ``salt-and-pepper`` (``amount`` = fraction of pixels in [0, 1], default
        0.05, half of them set to 0 and half to 255, all channels alike).
    seed : int, optional
        Seed for ``numpy.random.default_rng``: the same seed gives the same noise.

    Returns
    -------
    float32 array, the shape of ``image``

    Examples
    --------
    >>> noisy = add_noise(np.full((10, 10), 128.0), "salt-and-pepper", amount=0.2, seed=1)
    >>> int((noisy != 128).sum()), sorted(set(noisy[noisy != 128].tolist()))
    (20, [0.0, 255.0])
    """
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        sigma = 10.0 if amount is None else amount
        noise = rng.standard_normal(image.shape, dtype=np.float32)
        noise *= np.float32(sigma)
        noise += image
        return np.clip(noise, 0, 255, out=noise)
    fraction = 0.05 if amount is None else amount
    out = np.clip(image, 0, 255)
    height, width = image.shape[:2]
    count = int(round(fraction * height * width))
    chosen = rng.choice(height * width, size=count, replace=False)
    salt = rng.random(count) < 0.5
    rows, cols = np.divmod(chosen, width)
    out[rows[salt], cols[salt]] = 255
    out[rows[~salt], cols[~salt]] = 0
    return out
