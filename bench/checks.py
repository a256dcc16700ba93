"""How a competitor's output must agree with imgfilter's before its time counts.

A check gets imgfilter's output and the competitor's (both numpy arrays) and
returns ``(ok, detail)``. ``approx`` checks describe work that differs by design
(Pillow's box-approximated Gaussian, ImageMagick's 16-bit integer pipeline):
they report the difference but never fail, and the table marks the ratio "~".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


def _crop(a: np.ndarray, margin: int) -> np.ndarray:
    return a[margin : a.shape[0] - margin, margin : a.shape[1] - margin] if margin else a


@dataclass(frozen=True)
class Close:
    """Equal within ``atol + rtol * max|theirs|`` away from a ``margin`` of border pixels.

    ``scale`` maps the competitor's convention onto imgfilter's (e.g. -1 for
    OpenCV's Laplacian sign); ``to_uint8`` rounds and clips imgfilter's output
    first, for competitors that compute in 8 bits.
    """

    atol: float = 1e-3
    rtol: float = 1e-4
    margin: int = 0
    scale: float = 1.0
    to_uint8: bool = False
    approx: bool = False

    def __call__(self, ours: np.ndarray, theirs: np.ndarray) -> tuple[bool, str]:
        ours = np.asarray(ours, dtype=np.float64)
        theirs = np.asarray(theirs, dtype=np.float64) * self.scale
        if ours.shape != theirs.shape:
            return False, f"shapes differ: {ours.shape} vs {theirs.shape}"
        if self.to_uint8:
            ours = np.clip(np.rint(ours), 0, 255)
        diff = np.abs(_crop(ours, self.margin) - _crop(theirs, self.margin))
        tol = self.atol + self.rtol * float(np.abs(theirs).max(initial=0.0))
        worst, mean = float(diff.max(initial=0.0)), float(diff.mean()) if diff.size else 0.0
        where = f" beyond {self.margin} border px" if self.margin else ""
        detail = f"max |diff| {worst:.3g}, mean {mean:.3g}{where}"
        if self.approx:
            return True, detail + " (approximation, not checked)"
        return worst <= tol, detail + f" (tolerance {tol:.3g})"


@dataclass(frozen=True)
class Pixels:
    """8-bit images: at least ``share`` of the pixels within ``levels`` (decoded files).

    ``fit`` first maps imgfilter's output linearly onto the competitor's: for a
    min-max rescaled result, whose gain depends on the extreme pixel, and that
    may sit at the border where the tools' border rules differ.
    """

    levels: float = 2.0
    share: float = 0.999
    margin: int = 10
    fit: bool = False
    approx: bool = False

    def __call__(self, ours: np.ndarray, theirs: np.ndarray) -> tuple[bool, str]:
        if ours.shape != theirs.shape:
            return False, f"shapes differ: {ours.shape} vs {theirs.shape}"
        ours = _crop(ours.astype(np.float64), self.margin)
        theirs = _crop(theirs.astype(np.float64), self.margin)
        fitted = ""
        if self.fit:
            gain, offset = np.polyfit(ours.ravel()[::7], theirs.ravel()[::7], 1)
            ours = gain * ours + offset
            fitted = f" after a linear fit (gain {gain:.3f}, offset {offset:.2f})"
        diff = np.abs(ours - theirs)
        within = float((diff <= self.levels).mean())
        detail = (
            f"{100 * within:.2f}% of pixels within {self.levels:g} levels{fitted}, "
            f"mean |diff| {diff.mean():.3g}, max {diff.max():.0f}"
        )
        if self.approx:
            return True, detail + " (approximation, not checked)"
        return within >= self.share, detail + f" (need {100 * self.share:g}%)"


@dataclass(frozen=True)
class EdgeF1:
    """Edge maps: F1 score with a one-pixel tolerance, as issue 4's tests use."""

    minimum: float = 0.9
    margin: int = 2
    approx: bool = False

    def __call__(self, ours: np.ndarray, theirs: np.ndarray) -> tuple[bool, str]:
        if ours.shape[:2] != theirs.shape[:2]:
            return False, f"shapes differ: {ours.shape} vs {theirs.shape}"
        a = _crop(np.asarray(ours) > 0, self.margin)
        b = _crop(np.asarray(theirs) > 0, self.margin)
        near = np.ones((3, 3), dtype=bool)
        precision = (a & ndi.binary_dilation(b, near)).sum() / max(a.sum(), 1)
        recall = (b & ndi.binary_dilation(a, near)).sum() / max(b.sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        detail = f"F1 {f1:.3f} (1-px tolerance; {a.sum()} vs {b.sum()} edge px)"
        if self.approx:
            return True, detail + " (approximation, not checked)"
        return f1 >= self.minimum, detail + f" (need {self.minimum:g})"
