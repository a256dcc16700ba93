"""Data flows one way: no module imports a layer above its own, and the package never
imports the test-only oracles."""

import ast
from pathlib import Path

import pytest

import imgfilter

# Lower numbers are lower layers; a module may import its own layer or lower ones.
LAYERS = {
    "_checks": 0,
    "errors": 0,
    "rescaling": 0,
    "io": 1,
    "_png16": 1,
    "_tiff16": 1,
    "_pnm16": 1,
    "kernels": 2,
    "_compute": 3,
    "engine": 3,
    "filters": 4,
    "edges": 5,
    "denoising": 5,
    "metrics": 5,
    "pooling": 5,
    "registry": 6,
    "pipeline": 7,
    "cli": 8,
    "demo": 8,
    "__main__": 8,
}
FORBIDDEN = {"cv2", "skimage"}
PACKAGE = Path(imgfilter.__file__).parent
MODULES = sorted(p for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def imported_names(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "imgfilter":
                yield from (f"imgfilter.{alias.name}" for alias in node.names)
            else:
                yield node.module


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_imports_only_lower_layers(path):
    assert path.stem in LAYERS, f"add {path.stem} to LAYERS"
    for name in imported_names(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports test-only {top}"
        if top == "imgfilter" and "." in name:
            target = name.split(".")[1]
            if target in LAYERS:
                assert LAYERS[target] <= LAYERS[path.stem], f"{path.stem} imports upward: {name}"
