# cython: language_level=3
"""Bilateral filter of one band of rows, float32 (the loops are in ``bilateral.h``);
the GIL is released while they run.

Mirrors ``imgfilter.ops.denoise.bilateral`` operation for operation, with numpy's own
float32 exp transcribed: bit for bit where numpy runs its SIMD exp (``exact()``).
"""

import numpy as np
cimport numpy as cnp

cnp.import_array()

MAX_CHANNELS = 4
"""More channels than this stay on the numpy engine."""


cdef extern from "bilateral.h" nogil:
    int imf_bilateral_band(const float* src, Py_ssize_t width, Py_ssize_t channels,
                           const cnp.int32_t* rowmap, const cnp.int32_t* colmap,
                           Py_ssize_t rows_out, Py_ssize_t pad, const cnp.int32_t* dy,
                           const cnp.int32_t* dx, const float* space, int count,
                           float range_scale, float inv_channels, float* out)
    int imf_np_exp(const float* x, float* y, Py_ssize_t n)
    int imf_bilateral_level()


def exact():
    """True when the kernel's exp is numpy's SIMD exp (x86-64 with AVX2 and FMA)."""
    return imf_bilateral_level() >= 3


def numpy_exp(values):
    """The kernel's exp of float32 ``values`` (1-D), for the tests."""
    source = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    out = np.empty_like(source)
    cdef const float[::1] x = source
    cdef float[::1] y = out
    if source.size:
        imf_np_exp(&x[0], &y[0], source.size)
    return out


def bilateral_band(image, rowmap, colmap, out, int pad, dy, dx, space, float range_scale,
                   float inv_channels):
    """The band ``out`` (C-contiguous float32 rows of ``image``'s shape) of the filter.

    ``image`` is the whole C-contiguous float32 image; ``rowmap`` the source row of each
    of the band's ``len(out) + 2 * pad`` padded rows, ``colmap`` of each padded column
    (-1: zero); ``dy``, ``dx`` (int32, 0 <= dy <= pad, |dx| <= pad) the offsets of half
    the window and ``space`` (float32) their log space weights.
    """
    cdef const float[::1] flat = image.reshape(-1)
    cdef const cnp.int32_t[::1] rows = rowmap
    cdef const cnp.int32_t[::1] cols = colmap
    cdef const cnp.int32_t[::1] ys = dy
    cdef const cnp.int32_t[::1] xs = dx
    cdef const float[::1] weights = space
    cdef float[::1] target = out.reshape(-1)
    cdef Py_ssize_t width = image.shape[1]
    cdef Py_ssize_t channels = image.shape[2] if image.ndim == 3 else 1
    cdef Py_ssize_t rows_out = out.shape[0]
    cdef int count = ys.shape[0], status
    if channels > MAX_CHANNELS or channels < 1:
        raise ValueError(f"bilateral_band: {channels} channels not compiled")
    if rows.shape[0] != rows_out + 2 * pad or cols.shape[0] != width + 2 * pad:
        raise ValueError("bilateral_band: index maps do not fit the band")
    if xs.shape[0] != count or weights.shape[0] != count:
        raise ValueError("bilateral_band: one dy, dx and space per offset")
    if count and (min(dy) < 0 or max(dy) > pad or max(abs(d) for d in dx) > pad):
        raise ValueError("bilateral_band: offsets beyond the padding")
    if out.shape[1] != width or target.shape[0] != rows_out * width * channels:
        raise ValueError("bilateral_band: out does not fit the image")
    if rows_out == 0:
        return out
    with nogil:
        status = imf_bilateral_band(&flat[0], width, channels, &rows[0], &cols[0], rows_out,
                                    pad, &ys[0] if count else NULL, &xs[0] if count else NULL,
                                    &weights[0] if count else NULL, count, range_scale,
                                    inv_channels, &target[0])
    if status != 0:
        raise MemoryError("bilateral_band: no memory for the band")
    return out
