# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno
"""Canny's gradient, non-maximum suppression and hysteresis, compiled.

Mirrors ``imgfilter.ops.canny`` bit for bit (the loops are in ``canny.h``); the
GIL is released while they run, so the band thread pool runs them in parallel.
``-fno-math-errno`` (sqrtf of a negative number would set errno, which keeps the
magnitude's loop from vectorising; its argument is never negative) changes no result.
"""

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.stdlib cimport malloc, free

cnp.import_array()


cdef extern from "canny.h" nogil:
    void imf_canny_band(const float* src, Py_ssize_t pitch, Py_ssize_t h, Py_ssize_t w,
                        Py_ssize_t r0, Py_ssize_t r1, float* mag, uint8_t* cls, float* work,
                        float below, float above, float low, float high, int classify)
    void imf_classify(const float* mag, uint8_t* cls, Py_ssize_t rows, Py_ssize_t w,
                      float low, float high)
    int imf_flood_band(uint8_t* cls, Py_ssize_t w, Py_ssize_t y0, Py_ssize_t y1)
    int imf_flood_join(uint8_t* cls, Py_ssize_t h, Py_ssize_t w, const int64_t* starts,
                       Py_ssize_t count)
    void imf_mark(const uint8_t* cls, Py_ssize_t w, Py_ssize_t y0, Py_ssize_t y1, uint8_t* out)
    int imf_select(const float* values, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t pitch,
                   Py_ssize_t step, size_t k, uint32_t* counts, float* found, int check)
    float imf_select_next(const float* values, Py_ssize_t rows, Py_ssize_t cols,
                          Py_ssize_t pitch, Py_ssize_t step, size_t k, float value)
    int imf_has_nan(const float* values, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t pitch,
                    Py_ssize_t step)


def band(const float[:, :] smoothed not None, Py_ssize_t r0, Py_ssize_t r1,
         float[:, ::1] magnitude, uint8_t[:, ::1] classes not None,
         float below, float above, low=None, high=None):
    """Rows r0..r1: magnitude (unless None) and class codes into the framed ``classes``.

    ``smoothed``: float32 with contiguous rows, any row stride (negative too).
    With ``low``/``high`` the codes are 0/1/2 (none, candidate, strong), else 0/1
    (the maxima). ``below``/``above``: the tie factors 1 -/+ tolerance, float32.
    """
    cdef Py_ssize_t h = smoothed.shape[0], w = smoothed.shape[1]
    cdef Py_ssize_t pitch = smoothed.strides[0] // <Py_ssize_t>sizeof(float)
    cdef int classify = low is not None
    cdef float lo = low if classify else 0, hi = high if classify else 0
    cdef float* mag = NULL
    if smoothed.strides[1] != sizeof(float) or smoothed.strides[0] % <Py_ssize_t>sizeof(float):
        raise ValueError("band: the rows of smoothed must be contiguous")
    if r1 <= r0:
        return
    if magnitude is not None:
        mag = &magnitude[r0, 0]
    cdef uint8_t* cls = &classes[r0 + 1, 1]
    cdef float* work = <float*>malloc(16 * (w + 2) * sizeof(float))
    if work == NULL:
        raise MemoryError()
    with nogil:
        imf_canny_band(&smoothed[0, 0], pitch, h, w, r0, r1, mag, cls, work,
                       below, above, lo, hi, classify)
    free(work)


def classify(const float[:, ::1] magnitude not None, uint8_t[:, ::1] classes not None,
             Py_ssize_t r0, Py_ssize_t r1, float low, float high):
    """Rows r0..r1: maxima (0/1) in ``classes`` become codes 0/1/2 by the thresholds."""
    if r1 <= r0:
        return
    with nogil:
        imf_classify(&magnitude[r0, 0], &classes[r0 + 1, 1], r1 - r0, magnitude.shape[1],
                     low, high)


def flood(uint8_t[:, ::1] classes not None, Py_ssize_t r0, Py_ssize_t r1):
    """Hysteresis, step 1: in image rows r0..r1, strong pixels and the candidates they
    reach without leaving these rows become 3 (``classes``: framed codes)."""
    cdef Py_ssize_t w = classes.shape[1] - 2
    cdef int failed
    if not 0 <= r0 <= r1 <= classes.shape[0] - 2:
        raise ValueError("flood: rows outside the image")
    with nogil:
        failed = imf_flood_band(&classes[0, 0], w, r0, r1)
    if failed:
        raise MemoryError("hysteresis: the flood fill's stack could not grow")


def join(uint8_t[:, ::1] classes not None, const int64_t[::1] starts not None):
    """Hysteresis, step 2: floods across the band boundaries (the bands' first rows, > 0)."""
    cdef Py_ssize_t h = classes.shape[0] - 2, w = classes.shape[1] - 2, i
    cdef int failed
    for i in range(starts.shape[0]):
        if not 0 < starts[i] < h:
            raise ValueError("join: a band start outside the image")
    if starts.shape[0] == 0:
        return
    with nogil:
        failed = imf_flood_join(&classes[0, 0], h, w, &starts[0], starts.shape[0])
    if failed:
        raise MemoryError("hysteresis: the flood fill's stack could not grow")


def mark(const uint8_t[:, ::1] classes not None, out, Py_ssize_t r0, Py_ssize_t r1):
    """Hysteresis, step 3: rows r0..r1 of the bool edge map ``out`` (h, w)."""
    cdef uint8_t[:, ::1] view = out.view(np.uint8)
    cdef Py_ssize_t w = classes.shape[1] - 2
    if view.shape[1] != w or view.shape[0] != classes.shape[0] - 2 or not 0 <= r0 <= r1 <= view.shape[0]:
        raise ValueError("mark: out does not fit the classes")
    if r1 == r0:
        return
    with nogil:
        imf_mark(&classes[0, 0], w, r0, r1, &view[r0, 0])


def hysteresis(uint8_t[:, ::1] classes not None):
    """The kept edges (bool (h, w)) of the framed codes, on one thread, in one band."""
    h = classes.shape[0] - 2
    out = np.empty((h, classes.shape[1] - 2), dtype=np.bool_)
    flood(classes, 0, h)
    mark(classes, out, 0, h)
    return out


def middle(const float[:, :] values not None):
    """The middle value of non-negative ``values`` (two for an even count), None if any is NaN.

    np.median is their mean; this finds them by selection, not a partition of a copy.
    """
    cdef Py_ssize_t rows = values.shape[0], cols = values.shape[1]
    cdef Py_ssize_t pitch = values.strides[0] // <Py_ssize_t>sizeof(float)
    cdef Py_ssize_t step = values.strides[1] // <Py_ssize_t>sizeof(float)
    cdef const float* first = &values[0, 0]
    cdef size_t k = (rows * cols - 1) // 2
    cdef int nan = 0, even = (rows * cols) % 2 == 0
    cdef float low = 0, high = 0
    cdef Py_ssize_t item = sizeof(float)
    if values.strides[0] % item or values.strides[1] % item:
        raise ValueError("middle: values must be float-aligned")
    cdef uint32_t* counts = <uint32_t*>malloc(4 * 4096 * sizeof(uint32_t))
    if counts == NULL:
        raise MemoryError()
    with nogil:
        if imf_select(first, rows, cols, pitch, step, k, counts, &low, 1):
            # +inf or beyond: NaN, or infinities only (then select without the check)
            nan = imf_has_nan(first, rows, cols, pitch, step)
            if not nan:
                imf_select(first, rows, cols, pitch, step, k, counts, &low, 0)
        if not nan and even:
            high = imf_select_next(first, rows, cols, pitch, step, k, low)
    free(counts)
    if nan:
        return None
    return [low, high] if even else [low]
