"""Every example in the package's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import imgfilter

MODULES = sorted(
    ["imgfilter"] + [m.name for m in pkgutil.walk_packages(imgfilter.__path__, prefix="imgfilter.")]
)


def test_every_module_is_collected():
    assert {"imgfilter.io._read", "imgfilter.kernels._catalog", "imgfilter.ops.canny"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_readme_python_examples():
    readme = Path(__file__).resolve().parent.parent / "README.md"
    result = doctest.testfile(
        str(readme), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0
    assert result.failed == 0
