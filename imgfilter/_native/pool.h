/* Max, min and average pooling of float32 (H, W, C) images, rows then columns.
 *
 * Mirrors imgfilter/ops/pool.py operation for operation, so results are
 * bit-identical: each output row folds its window's rows in order (the first row
 * copied, then np.maximum / np.minimum / np.add of the accumulator and the next
 * row), then folds each window's columns the same way; the average divides by
 * kh kw last. np.maximum(acc, v) is "acc > v or acc is NaN ? acc : v": NaN wins,
 * and a tie (-0 against +0) gives v. Padding is read through index tables (which
 * image row or column each padded one copies, -1 for the constant) instead of a
 * padded copy; column padding is filled in after the row fold, which it commutes with.
 */
#include "portable.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { IMF_MAX = 0, IMF_AVG = 1, IMF_MIN = 2 };

/* The fold loops are kept out of line (so their restrict pointers survive) and,
 * with GCC on x86-64 Linux, get an AVX2 clone chosen at load time: the same IEEE
 * operations on wider vectors, so the same results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define IMF_POOL_LOOP __attribute__((noinline, target_clones("avx2", "default")))
#elif defined(__GNUC__)
#define IMF_POOL_LOOP __attribute__((noinline))
#else
#define IMF_POOL_LOOP
#endif

static inline float imf_fold(float acc, float v, int mode)
{
    if (mode == IMF_MAX)
        return (acc > v || acc != acc) ? acc : v;
    if (mode == IMF_MIN)
        return (acc < v || acc != acc) ? acc : v;
    return acc + v;
}

/* acc[i] = fold(acc[i], row[i]) over n values. */
static IMF_POOL_LOOP void imf_fold_row(float *restrict acc, const float *restrict row,
                                       ptrdiff_t n, int mode)
{
    if (mode == IMF_MAX) {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = (acc[i] > row[i] || acc[i] != acc[i]) ? acc[i] : row[i];
    } else if (mode == IMF_MIN) {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = (acc[i] < row[i] || acc[i] != acc[i]) ? acc[i] : row[i];
    } else {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = acc[i] + row[i];
    }
}

/* acc[i] = fold(acc[i], value) over n values (a row of constant padding). */
static IMF_POOL_LOOP void imf_fold_value(float *restrict acc, float value, ptrdiff_t n, int mode)
{
    if (mode == IMF_MAX) {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = (acc[i] > value || acc[i] != acc[i]) ? acc[i] : value;
    } else if (mode == IMF_MIN) {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = (acc[i] < value || acc[i] != acc[i]) ? acc[i] : value;
    } else {
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] = acc[i] + value;
    }
}

/* The column fold of one output row for a channel count known at compile time:
 * out[o, c] = fold over j < kw of acc[o sx + j, c]; the average then divides. */
#define IMF_COLUMNS(NAME, CH)                                                               \
    static IMF_POOL_LOOP void NAME(const float *restrict acc, float *restrict out,          \
                                   ptrdiff_t ow, ptrdiff_t channels, ptrdiff_t kw,           \
                                   ptrdiff_t sx, int mode, float count)                     \
    {                                                                                        \
        const ptrdiff_t ch = (CH) ? (CH) : channels;                                         \
        for (ptrdiff_t o = 0; o < ow; o++)                                                   \
            for (ptrdiff_t c = 0; c < ch; c++)                                               \
                out[o * ch + c] = acc[o * sx * ch + c];                                      \
        for (ptrdiff_t j = 1; j < kw; j++) {                                                 \
            if (mode == IMF_MAX) {                                                           \
                for (ptrdiff_t o = 0; o < ow; o++)                                           \
                    for (ptrdiff_t c = 0; c < ch; c++) {                                     \
                        float a = out[o * ch + c], v = acc[(o * sx + j) * ch + c];           \
                        out[o * ch + c] = (a > v || a != a) ? a : v;                         \
                    }                                                                        \
            } else if (mode == IMF_MIN) {                                                    \
                for (ptrdiff_t o = 0; o < ow; o++)                                           \
                    for (ptrdiff_t c = 0; c < ch; c++) {                                     \
                        float a = out[o * ch + c], v = acc[(o * sx + j) * ch + c];           \
                        out[o * ch + c] = (a < v || a != a) ? a : v;                         \
                    }                                                                        \
            } else {                                                                         \
                for (ptrdiff_t o = 0; o < ow; o++)                                           \
                    for (ptrdiff_t c = 0; c < ch; c++)                                       \
                        out[o * ch + c] = out[o * ch + c] + acc[(o * sx + j) * ch + c];      \
            }                                                                                \
        }                                                                                    \
        if (mode == IMF_AVG)                                                                 \
            for (ptrdiff_t i = 0; i < ow * ch; i++)                                          \
                out[i] = out[i] / count;                                                     \
    }

IMF_COLUMNS(imf_columns_1, 1)
IMF_COLUMNS(imf_columns_2, 2)
IMF_COLUMNS(imf_columns_3, 3)
IMF_COLUMNS(imf_columns_4, 4)
IMF_COLUMNS(imf_columns_any, 0)

/* Output rows o0..o1 of the pooled image.
 *
 * image: (h, w, channels) floats, pixels contiguous, row stride ``pitch`` floats
 * (may be negative); rows[p] / cols[q]: the image row / column padded row p and
 * column q copy, -1 for ``cval``; ``left``: the padding columns before the image;
 * ``pw``: the padded width; out: output row o0 of a contiguous (oh, ow, channels)
 * array; ``acc``: pw channels floats of scratch. */
static void imf_pool_rows(const float *image, ptrdiff_t pitch, ptrdiff_t w, ptrdiff_t channels,
                          const int64_t *rows, const int64_t *cols, ptrdiff_t left,
                          ptrdiff_t pw, float cval, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t sy,
                          ptrdiff_t sx, int mode, float *out, ptrdiff_t ow, ptrdiff_t o0,
                          ptrdiff_t o1, float *acc)
{
    const ptrdiff_t n = w * channels;
    float *inner = acc + left * channels;
    float constant = cval; /* the row fold of a column of constant padding */
    for (ptrdiff_t j = 1; j < kh; j++)
        constant = imf_fold(constant, cval, mode);
    const float count = (float)(kh * kw);
    for (ptrdiff_t o = o0; o < o1; o++) {
        for (ptrdiff_t j = 0; j < kh; j++) {
            int64_t r = rows[o * sy + j];
            if (j == 0) {
                if (r >= 0)
                    memcpy(inner, image + r * pitch, (size_t)n * sizeof(float));
                else
                    for (ptrdiff_t i = 0; i < n; i++)
                        inner[i] = cval;
            } else if (r >= 0) {
                imf_fold_row(inner, image + r * pitch, n, mode);
            } else {
                imf_fold_value(inner, cval, n, mode);
            }
        }
        for (ptrdiff_t q = 0; q < pw; q++) {
            if (q == left) {
                q += w - 1;
                continue;
            }
            for (ptrdiff_t c = 0; c < channels; c++)
                acc[q * channels + c] =
                    cols[q] >= 0 ? inner[cols[q] * channels + c] : constant;
        }
        float *target = out + (o - o0) * ow * channels;
        switch (channels) {
        case 1:
            imf_columns_1(acc, target, ow, channels, kw, sx, mode, count);
            break;
        case 2:
            imf_columns_2(acc, target, ow, channels, kw, sx, mode, count);
            break;
        case 3:
            imf_columns_3(acc, target, ow, channels, kw, sx, mode, count);
            break;
        case 4:
            imf_columns_4(acc, target, ow, channels, kw, sx, mode, count);
            break;
        default:
            imf_columns_any(acc, target, ow, channels, kw, sx, mode, count);
        }
    }
}
