"""Data flows one way: no module imports a layer above its own (subpackages included, and
the functions the operation table names as text), and the package never imports the
test-only oracles."""

import ast
import re
from pathlib import Path

import pytest

import imgfilter

# Lower numbers are lower layers; a module may import its own layer or lower ones. A
# name stands for itself and everything under it (``io`` covers ``io._read``); the
# longest matching name wins.
LAYERS = {
    "_checks": 0,
    "errors": 0,
    "choices": 0,
    "_native": 0,
    "params": 1,
    "formats": 1,
    "image": 2,
    "io": 3,
    "kernels": 3,
    "_compute": 4,
    "engine": 4,
    "ops.filters": 5,
    "ops": 6,
    "operation": 7,
    "registry": 7,
    "tiles": 7,
    "chunked": 7,
    "pipeline": 8,
    "trace": 8,
    "cli": 9,
    "__main__": 9,
}
FORBIDDEN = {"cv2", "skimage"}
PACKAGE = Path(imgfilter.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(name: str) -> int | None:
    """The layer of ``name`` (dotted, without ``imgfilter.``), or None if unlisted."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in LAYERS:
            return LAYERS[key]
    return None


def imported_names(path: Path):
    """Every imported name, ``module.name`` for ``from module import name``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{dotted(path)}: use absolute imports"
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_every_module_has_a_layer():
    assert MODULES, "no modules found"
    for path in MODULES:
        assert layer(dotted(path)) is not None, f"add {dotted(path)} to LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=dotted)
def test_module_imports_only_lower_layers(path):
    own = layer(dotted(path))
    for name in imported_names(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{dotted(path)} imports test-only {top}"
        if top == "imgfilter" and "." in name:
            target = layer(name.split(".", 1)[1])
            if target is not None:
                assert target <= own, f"{dotted(path)} imports upward: {name}"


def test_the_operation_table_names_lower_functions_that_exist():
    """The table's ``"module:function"`` targets are imports too, made at run time."""
    import importlib

    text = (PACKAGE / "registry.py").read_text()
    targets = re.findall(r'"imgfilter\.([\w.]+):(\w+)"', text)
    assert len(targets) >= 10
    for module, function in targets:
        assert layer(module) < LAYERS["registry"], f"registry names upward: {module}"
        found = getattr(importlib.import_module(f"imgfilter.{module}"), function)
        assert hasattr(found, "check_arguments"), f"{module}:{function} lacks @takes"


def test_no_module_is_over_500_lines():
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{dotted(path)} has {lines} lines"
