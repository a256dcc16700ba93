"""Build the optional compiled kernels (imgfilter/_native/*.pyx).

Everything else about the package is in pyproject.toml. The kernels are optional:
when Cython, a C compiler or the Python headers are missing, the build says so
once and the package installs without them; imgfilter then runs its numpy engine
(``imgfilter --version`` names the engine in use).

``-ffp-contract=off`` keeps GCC and Clang from fusing a multiply and an add into
one FMA instruction, which rounds once instead of twice: without it the compiled
kernels would differ from the numpy engine in the last bit. ``-fno-trapping-math``
changes no result (only whether floating-point exception flags are raised) and
lets comparisons such as ``v > 0 ? v : 0`` become vector blends.
"""

from __future__ import annotations

import os
import sys
from glob import glob

from setuptools import setup
from setuptools.command.build_ext import build_ext


DIRECTIVES = {"boundscheck": False, "wraparound": False, "cdivision": True}


class OptionalBuildExt(build_ext):
    """build_ext that warns and carries on when a kernel does not compile."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # the kernels compile side by side
            self.parallel = os.cpu_count() or 1

    def run(self):
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any build failure leaves the numpy engine
            self._skipped(error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            self._skipped(error, ext.name)

    @staticmethod
    def _skipped(error, name="the compiled kernels"):
        print(
            f"imgfilter: building {name} failed ({error}); the numpy engine will be used",
            file=sys.stderr,
        )


def extensions():
    if os.environ.get("IMGFILTER_PURE_BUILD") == "1":
        return []
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as error:
        OptionalBuildExt._skipped(error)
        return []
    from setuptools import Extension

    flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-trapping-math"]
    built = []
    for path in sorted(glob(os.path.join("imgfilter", "_native", "*.pyx"))):
        name = "imgfilter._native." + os.path.splitext(os.path.basename(path))[0]
        module = Extension(
            name,
            [path],
            depends=glob(os.path.join("imgfilter", "_native", "*.h")),
            include_dirs=[numpy.get_include(), os.path.join("imgfilter", "_native")],
            extra_compile_args=flags,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        try:
            built += cythonize(
                [module],
                language_level=3,
                compiler_directives=DIRECTIVES,
                quiet=True,
            )
        except Exception as error:  # noqa: BLE001 - this kernel falls back to numpy alone
            OptionalBuildExt._skipped(error, name)
    return built


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
