# cython: language_level=3
"""0-255 float32 -> uint8 or uint16 in one pass: scale, NaN to 0, clip, round half to even.

Mirrors ``imgfilter.io._save.quantise`` bit for bit (the loops are in
``quantise.h``); the GIL is released while they run.
"""

import numpy as np
cimport numpy as cnp

cnp.import_array()


cdef extern from "quantise.h" nogil:
    void imf_quantise8(const float* source, cnp.uint8_t* out, Py_ssize_t n)
    void imf_quantise8_rgbx(const float* source, cnp.uint8_t* out, Py_ssize_t pixels)
    void imf_quantise16(const float* source, cnp.uint16_t* out, Py_ssize_t n)


def quantise(values, int depth, out=None):
    """``values`` (float32, any shape) as uint8 (depth 8) or uint16 (x257, depth 16).

    ``out``, if given, receives the result: a C-contiguous array of ``values``' shape
    and the depth's dtype, or for 8-bit RGB ``(H, W, 3)`` an ``(H, W, 4)`` uint8 array
    (RGBX: each pixel's fourth byte is set to 255).
    """
    source = np.ascontiguousarray(values, dtype=np.float32)
    dtype = np.uint8 if depth == 8 else np.uint16
    cdef bint rgbx = False
    if out is None:
        out = np.empty(source.shape, dtype=dtype)
    else:
        rgbx = depth == 8 and source.ndim == 3 and source.shape[2] == 3 and out.shape == (
            *source.shape[:2], 4)
        if out.dtype != dtype or not out.flags.c_contiguous or not out.flags.writeable or (
            out.shape != source.shape and not rgbx
        ):
            raise ValueError(f"out must be a writable C-contiguous {np.dtype(dtype)} array "
                             f"of shape {source.shape}, got {out.dtype} {out.shape}")
    cdef const float[::1] flat = source.reshape(-1)
    cdef Py_ssize_t n = flat.shape[0]
    cdef cnp.uint8_t[::1] out8
    cdef cnp.uint16_t[::1] out16
    if n == 0:
        return out
    if depth == 8:
        out8 = out.reshape(-1)
        with nogil:
            if rgbx:
                imf_quantise8_rgbx(&flat[0], &out8[0], n // 3)
            else:
                imf_quantise8(&flat[0], &out8[0], n)
    else:
        out16 = out.reshape(-1)
        with nogil:
            imf_quantise16(&flat[0], &out16[0], n)
    return out
