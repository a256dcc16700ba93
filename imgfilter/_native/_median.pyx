# cython: language_level=3
"""Median filter of one band of rows, odd windows 3 to 11, float32 (the loops are in
``median.h``); the GIL is released while they run.

Mirrors ``imgfilter.ops.denoise._network_median`` bit for bit, NaN included (a
window holding a NaN gives NaN, as numpy's minimum and maximum do).
"""

import numpy as np
cimport numpy as cnp

cnp.import_array()

MAX_SIZE = 11
"""The largest window side compiled; larger ones stay on the numpy engine."""


cdef extern from "median.h" nogil:
    int imf_median_band(const float* src, Py_ssize_t width, Py_ssize_t channels,
                        const cnp.int32_t* rowmap, const cnp.int32_t* colmap,
                        Py_ssize_t rows_out, int size, float* out,
                        const cnp.int32_t* steps, int nsteps, int result, int nslots)


def median_band(image, rowmap, colmap, out, int size, program):
    """Median of ``out``'s rows into ``out`` (float32, C-contiguous, (rows, W[, C])).

    ``image`` is the whole C-contiguous float32 (H, W[, C]) image; ``rowmap`` the
    source row of each padded row of the band (``len(out) + size - 1`` of them),
    ``colmap`` the source column of each padded column; -1 stands for a zero.
    ``program`` is ``imgfilter.ops._median_network.slot_program(size)``.
    """
    if size < 3 or size > MAX_SIZE or size % 2 == 0:
        raise ValueError(f"median_band: size {size} not compiled")
    cdef const float[::1] flat = image.reshape(-1)
    cdef const cnp.int32_t[::1] rows = rowmap
    cdef const cnp.int32_t[::1] cols = colmap
    cdef float[::1] target = out.reshape(-1)
    cdef Py_ssize_t width = image.shape[1]
    cdef Py_ssize_t channels = image.shape[2] if image.ndim == 3 else 1
    cdef Py_ssize_t rows_out = out.shape[0]
    cdef int status, nsteps
    steps_array, py_result, py_slots = program
    cdef int result = py_result, nslots = py_slots
    cdef const cnp.int32_t[:, ::1] steps = steps_array
    if steps.shape[1] != 4 or steps.shape[0] == 0:
        raise ValueError("median_band: a program has rows of 4")
    if not 0 <= result < nslots or steps_array[:, 1].min() < 0 or steps_array.max() >= nslots:
        raise ValueError("median_band: program slots out of range")
    if steps_array[:, 2:].min() < -size * size:
        raise ValueError("median_band: program reads beyond the window")
    if rows.shape[0] != rows_out + size - 1 or cols.shape[0] != width + size - 1:
        raise ValueError("median_band: index maps do not fit the band")
    if out.shape[1] != width or target.shape[0] != rows_out * width * channels:
        raise ValueError("median_band: out does not fit the image")
    nsteps = steps.shape[0]
    if rows_out == 0:
        return out
    with nogil:
        status = imf_median_band(&flat[0], width, channels, &rows[0], &cols[0], rows_out,
                                 size, &target[0], &steps[0, 0], nsteps, result, nslots)
    if status != 0:
        raise MemoryError("median_band: no memory for the row buffers")
    return out
