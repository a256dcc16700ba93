"""The `import imgfilter as imf` surface: every exported name is the function or class,
even after every submodule has been imported (a submodule named like an export would
replace it)."""

import importlib
import pkgutil
import types

import imgfilter as imf


def test_exports_stay_callables_after_all_submodules_load():
    for info in pkgutil.walk_packages(imf.__path__, prefix="imgfilter."):
        importlib.import_module(info.name)
    for name in imf.__all__:
        value = getattr(imf, name)
        assert not isinstance(value, types.ModuleType), f"imf.{name} is a module"
        assert callable(value), name


def test_unknown_attribute_is_an_attribute_error():
    try:
        imf.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")
