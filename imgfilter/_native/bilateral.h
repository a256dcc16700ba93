/* Bilateral filter of one band of rows, bit for bit as imgfilter.ops.denoise.bilateral.
 *
 * numpy computes, per offset o of half the window, the weight between p and p + o
 * once and adds it to both; here each output pixel p computes its own two, w(p, p + o)
 * and w(p - o, p), and accumulates them in numpy's order (the value sums first with
 * the + then the - neighbour, the weight sum likewise), with the same float32
 * operations: d² = (a - b)² summed over the channels, times 1/C (colour only), times
 * the range scale, plus the offset's space term, then exp. The exp is numpy's own
 * float32 SIMD exp (loops_exponent_log.dispatch.c.src: Cody-Waite reduction, a 5/2
 * rational polynomial, FMA), transcribed lane by lane, so the weights are identical
 * wherever numpy runs that code (x86-64 with AVX2 and FMA, or AVX512F); elsewhere
 * numpy calls the C library's expf, and so does imf_expf, within float32 rounding.
 *
 * -ffp-contract=off keeps a * b + c as two roundings; fmaf() is an explicit FMA
 * (one instruction in the x86-64-v3 and -v4 clones).
 */
#include "portable.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define IMF_BILATERAL_CLONES 1
#define IMF_SIMD_EXP 1
#else
#define IMF_BILATERAL_CLONES 0
#define IMF_SIMD_EXP 0
#endif
#define IMF_BINLINE inline __attribute__((always_inline))

/* Output pixels per tile: the accumulators of a tile stay in L1. */
#define IMF_BILATERAL_TILE 256
#define IMF_BILATERAL_MAX_CHANNELS 4

static IMF_BINLINE float imf_bits_float(int32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* poly * 2**q for an integer q in [-150, 128], rounded once (as AVX512's scalef). */
static IMF_BINLINE float imf_scale2(float poly, float q)
{
    const float low = q < -100.0f ? 64.0f : 0.0f, high = q > 100.0f ? -64.0f : 0.0f;
    const float p2 = imf_bits_float(((int32_t)(q + low + high) + 127) << 23);
    float r = poly * p2;
    r = q < -100.0f ? r * 0x1p-64f : r;
    return q > 100.0f ? r * 0x1p64f : r;
}

/* numpy's float32 exp (simd_exp_FLOAT), one lane. */
static IMF_BINLINE float imf_np_expf(float x_in)
{
    const float xmax = 88.72283935546875f, xmin = -103.97208404541015625f;
    const float magic = 0x1.800000p+23f, log2e = 1.442695040888963407359924681001892137f;
    const float c1 = -6.93145752e-1f, c2 = -1.42860677e-6f;
    const int nan = x_in != x_in;
    float x = nan ? 0.0f : x_in;
    const int over = x >= xmax, under = x <= xmin;
    x = (over | under) ? 0.0f : x;
    float q = x * log2e;
    q = q + magic;
    q = q - magic;
    x = fmaf(q, c1, x);
    x = fmaf(q, c2, x);
    x = fmaf(q, 0.0f, x);
    float num = fmaf(5.082762527590693718096e-04f, x, 6.757896990527504603057e-03f);
    num = fmaf(num, x, 5.114512081637298353406e-02f);
    num = fmaf(num, x, 2.473615434895520810817e-01f);
    num = fmaf(num, x, 7.257664613233124478488e-01f);
    num = fmaf(num, x, 9.999999999980870924916e-01f);
    float den = fmaf(2.159509375685829852307e-02f, x, -2.742335390411667452936e-01f);
    den = fmaf(den, x, 1.0f);
    float r = imf_scale2(num / den, q);
    r = nan ? x_in : r;
    r = over ? INFINITY : r;
    return under ? 0.0f : r;
}

/* The band's padded rows as channel planes (planes[c][k * padded_width + x]). */
static void imf_bilateral_planes(const float *src, ptrdiff_t width, ptrdiff_t C,
                                 const int32_t *rowmap, const int32_t *colmap,
                                 ptrdiff_t padded_rows, ptrdiff_t padded_width, float *planes)
{
    const ptrdiff_t plane = padded_rows * padded_width;
    for (ptrdiff_t k = 0; k < padded_rows; k++) {
        for (ptrdiff_t c = 0; c < C; c++) {
            float *restrict dst = planes + c * plane + k * padded_width;
            if (rowmap[k] < 0) {
                memset(dst, 0, sizeof(float) * padded_width);
                continue;
            }
            const float *restrict row = src + (ptrdiff_t)rowmap[k] * width * C + c;
            for (ptrdiff_t x = 0; x < padded_width; x++)
                dst[x] = colmap[x] < 0 ? 0.0f : row[(ptrdiff_t)colmap[x] * C];
        }
    }
}

/* The weighted means of one column tile of a band, in numpy's order: for each
 * offset o, the weights w between every pixel p of the tile's canvas and p + o, then
 * the sums at p += w * value(p + o), the sums at p + o += w * value(p), the weight
 * sums likewise. The canvas is `rows` x `cols` of the band's planes (row stride
 * `stride`, plane size `plane`); sums, weights and w are rows x cols. The inner part
 * (pad from each edge) is the result. C is a constant once inlined. */
static IMF_BINLINE void imf_bilateral_tile(const float *planes, ptrdiff_t plane, ptrdiff_t stride,
                                           ptrdiff_t rows, ptrdiff_t cols, const ptrdiff_t C,
                                           const int32_t *dy, const int32_t *dx,
                                           const float *space, int count, float range_scale,
                                           float inv_channels, float *scratch, const int exact)
{
    const ptrdiff_t area = rows * cols;
    float *restrict sums = scratch, *restrict weights = sums + C * area;
    float *restrict w = weights + area;
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t k = 0; k < rows; k++)
            memcpy(sums + c * area + k * cols, planes + c * plane + k * stride,
                   sizeof(float) * cols);
    for (ptrdiff_t i = 0; i < area; i++)
        weights[i] = 1.0f;
    for (int o = 0; o < count; o++) {
        const ptrdiff_t oy = dy[o], ox = dx[o];
        const ptrdiff_t first = ox < 0 ? -ox : 0, n = cols - (ox < 0 ? -ox : ox);
        const float space_o = space[o];
        for (ptrdiff_t k = 0; k + oy < rows; k++) {
            const float *restrict p = planes + k * stride + first;
            const float *restrict q = p + oy * stride + ox;
            float *restrict wk = w + k * cols + first;
            for (ptrdiff_t t = 0; t < n; t++) {
                float d = p[t] - q[t];
                d = d * d;
                for (ptrdiff_t c = 1; c < C; c++) {
                    float dc = p[c * plane + t] - q[c * plane + t];
                    d = d + dc * dc;
                }
                if (C > 1)
                    d = d * inv_channels;
                d = d * range_scale + space_o;
                wk[t] = exact ? imf_np_expf(d) : expf(d);
            }
        }
        for (ptrdiff_t c = 0; c < C; c++) {
            const float *pc = planes + c * plane;
            float *sc = sums + c * area;
            for (ptrdiff_t k = 0; k + oy < rows; k++) {
                const float *restrict wk = w + k * cols + first;
                const float *restrict q = pc + (k + oy) * stride + first + ox;
                float *restrict s = sc + k * cols + first;
                for (ptrdiff_t t = 0; t < n; t++)
                    s[t] += wk[t] * q[t];
            }
            for (ptrdiff_t k = 0; k + oy < rows; k++) {
                const float *restrict wk = w + k * cols + first;
                const float *restrict p = pc + k * stride + first;
                float *restrict s = sc + (k + oy) * cols + first + ox;
                for (ptrdiff_t t = 0; t < n; t++)
                    s[t] += wk[t] * p[t];
            }
        }
        for (ptrdiff_t k = 0; k + oy < rows; k++) {
            const float *restrict wk = w + k * cols + first;
            float *restrict s = weights + k * cols + first;
            for (ptrdiff_t t = 0; t < n; t++)
                s[t] += wk[t];
        }
        for (ptrdiff_t k = 0; k + oy < rows; k++) {
            const float *restrict wk = w + k * cols + first;
            float *restrict s = weights + (k + oy) * cols + first + ox;
            for (ptrdiff_t t = 0; t < n; t++)
                s[t] += wk[t];
        }
    }
}

/* The inner part of a tile: sums / weights, interleaved into the output rows. */
static IMF_BINLINE void imf_bilateral_store(const float *scratch, ptrdiff_t rows, ptrdiff_t cols,
                                            const ptrdiff_t C, ptrdiff_t pad, float *out,
                                            ptrdiff_t out_stride)
{
    const ptrdiff_t area = rows * cols;
    const float *weights = scratch + C * area;
    for (ptrdiff_t k = pad; k < rows - pad; k++) {
        float *restrict row = out + (k - pad) * out_stride;
        for (ptrdiff_t t = pad; t < cols - pad; t++)
            for (ptrdiff_t c = 0; c < C; c++)
                row[(t - pad) * C + c] = scratch[c * area + k * cols + t] / weights[k * cols + t];
    }
}

#define IMF_BILATERAL_CALL(CH, EXACT) \
    do { \
        imf_bilateral_tile(planes + x0, plane, padded_width, padded_rows, cols, CH, dy, dx, \
                           space, count, range_scale, inv_channels, scratch, EXACT); \
        imf_bilateral_store(scratch, padded_rows, cols, CH, pad, out + x0 * C, width * C); \
    } while (0)

/* The weighted means of one band: `rows_out` output rows of `width` pixels of C
 * channels into `out`; rowmap/colmap as numpy.pad fills the band's padded rows and
 * columns (-1: zero), pad = radius; offsets (dy, dx) with space[o] their log space
 * weight. Returns 0, or -1 when out of memory. */
#define IMF_BILATERAL_SIGNATURE(name) \
    static int name(const float *src, ptrdiff_t width, ptrdiff_t C, const int32_t *rowmap, \
                    const int32_t *colmap, ptrdiff_t rows_out, ptrdiff_t pad, \
                    const int32_t *dy, const int32_t *dx, const float *space, int count, \
                    float range_scale, float inv_channels, float *out)

#define IMF_BILATERAL_DEFINE(name, EXACT) \
    IMF_BILATERAL_SIGNATURE(name) \
    { \
        const ptrdiff_t padded_width = width + 2 * pad, padded_rows = rows_out + 2 * pad; \
        const ptrdiff_t plane = padded_rows * padded_width; \
        const ptrdiff_t tile = IMF_BILATERAL_TILE + 2 * pad; \
        float *planes = malloc(sizeof(float) * (C * plane + (C + 2) * padded_rows * tile)); \
        if (planes == NULL) \
            return -1; \
        float *scratch = planes + C * plane; \
        imf_bilateral_planes(src, width, C, rowmap, colmap, padded_rows, padded_width, planes); \
        for (ptrdiff_t x0 = 0; x0 < width; x0 += IMF_BILATERAL_TILE) { \
            const ptrdiff_t n = width - x0 < IMF_BILATERAL_TILE ? width - x0 : IMF_BILATERAL_TILE; \
            const ptrdiff_t cols = n + 2 * pad; \
            if (C == 1) \
                IMF_BILATERAL_CALL(1, EXACT); \
            else if (C == 3) \
                IMF_BILATERAL_CALL(3, EXACT); \
            else \
                IMF_BILATERAL_CALL(C, EXACT); \
        } \
        free(planes); \
        return 0; \
    }

#if IMF_BILATERAL_CLONES
__attribute__((target("arch=x86-64-v4"))) IMF_BILATERAL_DEFINE(imf_bilateral_v4, 1)
__attribute__((target("arch=x86-64-v3"))) IMF_BILATERAL_DEFINE(imf_bilateral_v3, 1)
#endif
IMF_BILATERAL_DEFINE(imf_bilateral_libm, 0)

/* numpy's exp over n floats, for the tests (the v3 code where the CPU has it). */
#if IMF_BILATERAL_CLONES
__attribute__((target("arch=x86-64-v3"))) static void imf_np_exp_v3(const float *x, float *y,
                                                                    ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = imf_np_expf(x[i]);
}
#endif

/* Which code this CPU runs: 4 (AVX512F), 3 (AVX2 + FMA) or 0 (expf). numpy
 * dispatches its exp the same way. */
static int imf_bilateral_level(void)
{
#if IMF_BILATERAL_CLONES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return 4;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 3;
#endif
    return 0;
}

static int imf_np_exp(const float *x, float *y, ptrdiff_t n)
{
#if IMF_BILATERAL_CLONES
    if (imf_bilateral_level() >= 3) {
        imf_np_exp_v3(x, y, n);
        return 1;
    }
#endif
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
    return 0;
}

IMF_BILATERAL_SIGNATURE(imf_bilateral_band)
{
#if IMF_BILATERAL_CLONES
    static int level = -1;
    if (level < 0)
        level = imf_bilateral_level();
    if (level == 4)
        return imf_bilateral_v4(src, width, C, rowmap, colmap, rows_out, pad, dy, dx, space,
                                count, range_scale, inv_channels, out);
    if (level == 3)
        return imf_bilateral_v3(src, width, C, rowmap, colmap, rows_out, pad, dy, dx, space,
                                count, range_scale, inv_channels, out);
#endif
    return imf_bilateral_libm(src, width, C, rowmap, colmap, rows_out, pad, dy, dx, space,
                              count, range_scale, inv_channels, out);
}
