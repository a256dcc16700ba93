"""Kernels: the value type, the built-in catalog and JSON kernel files.

``_kernel`` holds the values (:class:`Kernel`, :class:`KernelBank`) and what is computed
from them (the rank-1 test, Gaussian taps, dilation, the text grid); ``_json`` reads
kernel files; ``_catalog`` holds the built-in kernels, the lookup order and specs such
as ``gaussian:sigma=2``. Everything a user needs is importable from here.

>>> k = get_kernel("sobel-x")
>>> k.matrix
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
>>> k.separable_factors()
Factors(column=array([1., 2., 1.]), row=array([-1.,  0.,  1.]), scale=1.0)
"""

from imgfilter.kernels._catalog import (
    CatalogEntry,
    as_kernel,
    catalog,
    catalog_entry,
    get_kernel,
    kernel_path_folders,
    parse_kernel_spec,
    resolve_kernel,
)
from imgfilter.kernels._json import load_kernel, parse_kernel
from imgfilter.kernels._kernel import (
    MAX_KERNEL_SIDE,
    Factors,
    Kernel,
    KernelBank,
    as_kernel_matrix,
    dilate,
    format_matrix,
    gaussian_1d,
    separable_factors,
)

__all__ = [
    "MAX_KERNEL_SIDE",
    "CatalogEntry",
    "Factors",
    "Kernel",
    "KernelBank",
    "as_kernel",
    "as_kernel_matrix",
    "catalog",
    "catalog_entry",
    "dilate",
    "format_matrix",
    "gaussian_1d",
    "get_kernel",
    "kernel_path_folders",
    "load_kernel",
    "parse_kernel",
    "parse_kernel_spec",
    "resolve_kernel",
    "separable_factors",
]
