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
    void imf_quantise16(const float* source, cnp.uint16_t* out, Py_ssize_t n)


def quantise(values, int depth):
    """``values`` (float32, any shape) as uint8 (depth 8) or uint16 (x257, depth 16)."""
    source = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty(source.shape, dtype=np.uint8 if depth == 8 else np.uint16)
    cdef const float[::1] flat = source.reshape(-1)
    cdef Py_ssize_t n = flat.shape[0]
    cdef cnp.uint8_t[::1] out8
    cdef cnp.uint16_t[::1] out16
    if n == 0:
        return out
    if depth == 8:
        out8 = out.reshape(-1)
        with nogil:
            imf_quantise8(&flat[0], &out8[0], n)
    else:
        out16 = out.reshape(-1)
        with nogil:
            imf_quantise16(&flat[0], &out16[0], n)
    return out
