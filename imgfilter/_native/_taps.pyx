# cython: language_level=3
"""The convolution engine's tap loop: ``acc = sum of w * shifted source rows``.

Mirrors ``imgfilter._compute._accumulate_phase`` bit for bit (the loops are in
``taps.h``); the GIL is released while they run, so the engine's band threads
run it side by side, each on its own band.
"""

import numpy as np
cimport numpy as cnp
from libc.stdlib cimport free, malloc

cnp.import_array()


cdef extern from "taps.h" nogil:
    ctypedef struct imf_pass:
        pass
    int IMF_CHUNK
    int imf_plan(const int *sizes, const float *weights, int ngroups, imf_pass *passes)
    void imf_taps(float *acc, Py_ssize_t acc_stride, const float *source, Py_ssize_t row_step,
                  Py_ssize_t rows, Py_ssize_t n, const Py_ssize_t *offsets,
                  const float *tap_weights, const imf_pass *passes, int npasses,
                  float *scratch)
    void imf_taps_u8(float *acc, Py_ssize_t acc_stride, const unsigned char *source,
                     Py_ssize_t row_step, Py_ssize_t rows, Py_ssize_t n,
                     const Py_ssize_t *offsets, const float *tap_weights,
                     const imf_pass *passes, int npasses, float *scratch)


cdef bint _contiguous_rows(cnp.ndarray array, dtype):
    """Each row (axis 0) is contiguous ``dtype`` (pixels, then channels)."""
    if array.dtype != dtype or array.ndim not in (2, 3):
        return False
    cdef Py_ssize_t size = array.itemsize
    if array.ndim == 3 and array.shape[2] != 1 and array.strides[2] != size:
        return False
    channels = array.shape[2] if array.ndim == 3 else 1
    if array.shape[1] != 1 and array.strides[1] != size * channels:
        return False
    return array.strides[0] % size == 0


def accumulate(acc, source, groups, int sy, int dy, int dx):
    """``acc[y, x] = sum of w * source[y*sy + i*dy, x + j*dx]`` over the weight groups.

    ``groups`` is ``_compute._group_by_weight``'s list ``[(w, [(i, j), ...]), ...]``
    (not empty). ``source`` is float32 or uint8 (read as its float32 values, without a
    converted copy). A source whose rows are not contiguous is copied (it is one band).
    Returns False, touching nothing, when the arrays do not suit the loop (``acc`` not
    float32 or its rows not contiguous, another source type, overlapping, or the taps
    reach beyond ``source``); the caller then runs the numpy loop.

    >>> acc = np.empty((1, 2), np.float32)
    >>> accumulate(acc, np.arange(4, dtype=np.float32)[None], [(2.0, [(0, 0), (0, 2)])], 1, 1, 1)
    True
    >>> acc.tolist()
    [[4.0, 8.0]]
    """
    if not (isinstance(acc, np.ndarray) and isinstance(source, np.ndarray)):
        return False
    if acc.ndim != source.ndim or acc.shape[2:] != source.shape[2:]:
        return False
    if acc.dtype == np.float32 and acc.size == 0:
        return True
    if not _contiguous_rows(acc, np.float32) or not acc.flags.writeable:
        return False
    cdef bint bytes_in = source.dtype == np.uint8
    if source.dtype != np.float32 and not bytes_in:
        return False
    if not _contiguous_rows(source, source.dtype):
        source = np.ascontiguousarray(source)  # one band of a strided view: a small copy
    cdef Py_ssize_t rows = acc.shape[0], width = acc.shape[1]
    cdef Py_ssize_t channels = acc.shape[2] if acc.ndim == 3 else 1
    if np.may_share_memory(acc, source):
        return False
    cdef Py_ssize_t source_stride = source.strides[0] // source.itemsize
    cdef int ntaps = sum(len(positions) for _, positions in groups)
    cdef int ngroups = len(groups)
    cdef Py_ssize_t top = 0, right = 0
    for _, positions in groups:
        for i, j in positions:
            if i < 0 or j < 0:
                return False
            top, right = max(top, i), max(right, j)
    if (rows - 1) * sy + top * dy >= source.shape[0] or right * dx + width > source.shape[1]:
        return False
    # one allocation: the groups' sizes and weights, each tap's offset and weight,
    # the passes and the scratch row
    cdef char *memory = <char *> malloc(
        ngroups * (sizeof(int) + sizeof(float))
        + ntaps * (sizeof(Py_ssize_t) + sizeof(float) + 2 * sizeof(imf_pass))
        + IMF_CHUNK * sizeof(float) + 64
    )
    if memory == NULL:
        raise MemoryError()
    cdef Py_ssize_t *offsets = <Py_ssize_t *> memory
    cdef float *scratch = <float *> (offsets + ntaps)
    cdef imf_pass *passes = <imf_pass *> (scratch + IMF_CHUNK)
    cdef float *tap_weights = <float *> (passes + 2 * ntaps)
    cdef float *weights = tap_weights + ntaps
    cdef int *sizes = <int *> (weights + ngroups)
    cdef int n = 0, g = 0, npasses
    cdef float weight
    cdef float *acc_data = <float *> cnp.PyArray_DATA(acc)
    cdef void *source_data = cnp.PyArray_DATA(source)
    cdef Py_ssize_t acc_stride = acc.strides[0] // 4
    cdef Py_ssize_t row_step = sy * source_stride
    try:
        for w, positions in groups:
            weight = w
            sizes[g], weights[g] = len(positions), weight
            for i, j in positions:
                offsets[n] = i * dy * source_stride + j * dx * channels
                tap_weights[n] = weight
                n += 1
            g += 1
        npasses = imf_plan(sizes, weights, ngroups, passes)
        with nogil:
            if bytes_in:
                imf_taps_u8(acc_data, acc_stride, <const unsigned char *> source_data, row_step,
                            rows, width * channels, offsets, tap_weights, passes, npasses,
                            scratch)
            else:
                imf_taps(acc_data, acc_stride, <const float *> source_data, row_step, rows,
                         width * channels, offsets, tap_weights, passes, npasses, scratch)
    finally:
        free(memory)
    return True
