# cython: language_level=3
"""Max, min and average pooling of float32 images, compiled.

Mirrors ``imgfilter.ops.pool`` bit for bit (the loops are in ``pool.h``); the GIL
is released while they run, so the band thread pool runs bands in parallel.
"""

cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

cnp.import_array()

MODES = {"max": 0, "avg": 1, "min": 2}


cdef extern from "pool.h" nogil:
    void imf_pool_rows(const float* image, Py_ssize_t pitch, Py_ssize_t w, Py_ssize_t channels,
                       const int64_t* rows, const int64_t* cols, Py_ssize_t left,
                       Py_ssize_t pw, float cval, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sy,
                       Py_ssize_t sx, int mode, float* out, Py_ssize_t ow, Py_ssize_t o0,
                       Py_ssize_t o1, float* acc)


def rows(const float[:, :, :] image not None, const int64_t[::1] rows not None,
         const int64_t[::1] cols not None, Py_ssize_t left, float cval,
         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sy, Py_ssize_t sx, str mode,
         float[:, :, ::1] out not None, Py_ssize_t o0, Py_ssize_t o1):
    """Output rows o0..o1 of ``out`` (OH, OW, C) from ``image`` (H, W, C).

    ``image``'s pixels are contiguous, its row stride is free (negative too);
    ``rows``/``cols`` name the image row/column each padded one copies (-1: ``cval``).
    """
    cdef Py_ssize_t w = image.shape[1], channels = image.shape[2], ow = out.shape[1]
    cdef Py_ssize_t pitch = image.strides[0] // <Py_ssize_t>sizeof(float)
    cdef Py_ssize_t pw = cols.shape[0]
    cdef int code = MODES[mode]
    cdef Py_ssize_t item = sizeof(float)
    if (image.strides[2] != item or image.strides[1] != channels * item
            or image.strides[0] % item):
        raise ValueError("rows: the image's pixels must be contiguous")
    if out.shape[2] != channels or (o1 - 1) * sy + kh > rows.shape[0]:
        raise ValueError("rows: out or the row table does not fit the image")
    if (ow - 1) * sx + kw > pw or left + w > pw:
        raise ValueError("rows: the column table does not fit")
    if o1 <= o0:
        return
    cdef float* acc = <float*>malloc(pw * channels * sizeof(float))
    if acc == NULL:
        raise MemoryError()
    with nogil:
        imf_pool_rows(&image[0, 0, 0], pitch, w, channels, &rows[0], &cols[0], left, pw,
                      cval, kh, kw, sy, sx, code, &out[o0, 0, 0], ow, o0, o1, acc)
    free(acc)
