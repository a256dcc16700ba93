"""The compiled kernels' frame: which engine runs, IMGFILTER_PURE, and the quantiser.

Each compiled kernel is held against the numpy routine it replaces, on the same
random inputs (the kernels' own test files do the same for theirs). The suite runs
once with the kernels and once with ``IMGFILTER_PURE=1`` (see .ci/run).
"""

import subprocess
import sys

import numpy as np
import pytest

from imgfilter import _native
from imgfilter.io import _save

built = _native._load("_quantise")  # whether the kernels exist, IMGFILTER_PURE aside
compiled = _native.module("_quantise")
needs_compiled = pytest.mark.skipif(
    compiled is None, reason="compiled kernels not built, or IMGFILTER_PURE=1"
)


def awkward_values(seed: int, shape) -> np.ndarray:
    """Values around and beyond 0-255, exact halves, NaN, ±inf and -0."""
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(shape) * 150 + 128).astype(np.float32)
    flat = values.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.5, 1.5, 2.5, 254.5, 255.5, 65535 / 257]
    halves = np.arange(64) / 2  # halves round to even
    sixteen = (np.arange(64) + 0.5) / 257  # halves of the 16-bit scale
    special = np.concatenate([specials, halves, sixteen]).astype(np.float32)
    flat[: min(flat.size, special.size)] = special[: flat.size]
    return values


@needs_compiled
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("shape", [(1,), (7, 5), (12, 13), (64, 33, 3), (300, 301)])
def test_the_compiled_quantiser_equals_numpys_bit_for_bit(depth, shape, monkeypatch):
    values = awkward_values(sum(shape), shape)
    fast = compiled.quantise(values, depth)
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    slow = _save.quantise(values, depth)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


@needs_compiled
def test_the_quantiser_takes_strided_views():
    values = awkward_values(3, (40, 50, 3))
    view = values[::-2, 1::3]
    np.testing.assert_array_equal(compiled.quantise(view, 8), compiled.quantise(view.copy(), 8))


def test_pure_turns_every_kernel_off(monkeypatch):
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    assert all(_native.module(name) is None for name in _native.MODULES)
    assert "IMGFILTER_PURE=1" in _native.engine()
    monkeypatch.setenv(_native.PURE_VARIABLE, "0")
    assert _native.pure() is False


def test_the_engine_line_names_what_runs():
    line = _native.engine()
    if compiled is None:  # not built, or IMGFILTER_PURE=1
        assert line.startswith("numpy")
    else:
        assert line.startswith("compiled") and "quantise" in line


@pytest.mark.parametrize("pure", ["", "1"])
def test_version_names_the_engine(pure, tmp_path):
    env = {"PATH": "/usr/bin:/bin", _native.PURE_VARIABLE: pure}
    done = subprocess.run(  # away from the checkout: the installed package, kernels and all
        [sys.executable, "-m", "imgfilter", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    first, engine = done.stdout.splitlines()
    assert first.startswith("imgfilter, version ")
    expected = "numpy" if pure or built is None else "compiled"
    assert engine.startswith(f"engine: {expected}")
