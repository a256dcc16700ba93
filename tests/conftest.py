"""Shared fixtures: small images on disk, the sample photos, and command-line runners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture
def samples_dir() -> Path:
    """The repository's sample photos (and samples/kernels/)."""
    return SAMPLES


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def write_png(path: Path, array, mode: str | None = None) -> Path:
    """Write ``array`` (uint8 or uint16 values) as a PNG with Pillow, independently of imgfilter."""
    array = np.asarray(array)
    if array.dtype == np.uint16:
        Image.fromarray(array).save(path)
    else:
        picture = Image.fromarray(array.astype(np.uint8))
        (picture.convert(mode) if mode and picture.mode != mode else picture).save(path)
    return path


@pytest.fixture
def gray_png(tmp_path, rng) -> Path:
    """A 24×32 grayscale PNG of random values."""
    return write_png(tmp_path / "gray.png", rng.integers(0, 256, (24, 32)))


@pytest.fixture
def rgb_png(tmp_path, rng) -> Path:
    """A 20×30 RGB PNG of random values."""
    return write_png(tmp_path / "rgb.png", rng.integers(0, 256, (20, 30, 3)))


@pytest.fixture
def rgba_png(tmp_path, rng) -> Path:
    """A 20×30 RGBA PNG whose alpha is a left-to-right ramp."""
    pixels = rng.integers(0, 256, (20, 30, 4))
    pixels[..., 3] = np.linspace(0, 255, 30).round()[None, :]
    return write_png(tmp_path / "rgba.png", pixels, mode="RGBA")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the command line in-process: ``cli("gaussian", "a.png", "-o", "b.png")``."""
    from imgfilter.cli import main

    def invoke(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input)

    return invoke


def command_prefix() -> list[str]:
    """The installed ``imgfilter`` script if there is one, else ``python -m imgfilter``."""
    script = shutil.which("imgfilter")
    if script is None:
        candidate = Path(sys.executable).with_name("imgfilter")
        script = str(candidate) if candidate.exists() else None
    return [script] if script else [sys.executable, "-m", "imgfilter"]


@pytest.fixture
def run_subprocess():
    """Run the real command in a child process; returns CompletedProcess (bytes)."""

    def run(*args, input=None, cwd=None):
        prefix = command_prefix()
        env = dict(os.environ)
        if prefix[0] == sys.executable:  # not installed: run the source tree
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        return subprocess.run(
            [*prefix, *map(str, args)],
            input=input,
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=120,
        )

    return run
