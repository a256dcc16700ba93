/* Canny's inner loops: Sobel gradient, non-maximum suppression, hysteresis.
 *
 * Each mirrors imgfilter/ops/canny.py operation for operation in float32, in the
 * same order (no FMA: -ffp-contract=off), so the results are bit-identical:
 *
 *   V  = 2 s[y] + (s[y-1] + s[y+1])          gx = 1 V[x+1] - V[x-1]
 *   D  = 1 s[y+1] - s[y-1]                   gy = 2 D[x] + (D[x-1] + D[x+1])
 *   magnitude = sqrt(gx gx + gy gy), rows and columns outside the image reflected
 *   (numpy's "reflect": -1 -> 1, n -> n - 2; a single row or column repeats).
 *
 * Non-maximum suppression keeps the numpy path's "sum of mask * value" selection
 * (0 * inf is NaN there too). The per-pixel class codes are 0 (no candidate),
 * 1 (candidate above low), 2 (strong, above high) and, after hysteresis, 3 (kept);
 * the class array has a one-pixel frame of zeros so the flood fill needs no bounds.
 */
#include "portable.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


/* The row loops stay out of line (inlined, they lose their restrict pointers and
 * stay scalar) and, with GCC on x86-64 Linux, get an AVX2 clone picked at load time:
 * the same IEEE operations on 8 lanes instead of 4, so the same results (no FMA:
 * -ffp-contract=off). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define IMF_NOINLINE __attribute__((noinline, target_clones("avx2", "default")))
#elif defined(__GNUC__)
#define IMF_NOINLINE __attribute__((noinline))
#else
#define IMF_NOINLINE
#endif

static inline ptrdiff_t imf_reflect(ptrdiff_t i, ptrdiff_t n)
{
    if (n == 1)
        return 0;
    if (i < 0)
        return -i;
    if (i >= n)
        return 2 * n - 2 - i;
    return i;
}

/* Vertical pass of both derivatives for smoothed row k: v (for gx) and d (for gy). */
static IMF_NOINLINE void imf_vertical(const float *restrict up, const float *restrict mid,
                         const float *restrict down, float *restrict v, float *restrict d,
                         ptrdiff_t w)
{
    for (ptrdiff_t x = 0; x < w; x++) {
        v[x] = mid[x] * 2.0f + (up[x] + down[x]);
        d[x] = down[x] * 1.0f - up[x];
    }
}

/* gx, gy and the magnitude of one row; v and d carry a reflected column each side
 * (index x + 1 is column x); mag too. */
static IMF_NOINLINE void imf_horizontal(float *restrict v, float *restrict d, float *restrict gx,
                           float *restrict gy, float *restrict mag, ptrdiff_t w)
{
    v[0] = v[1 + imf_reflect(-1, w)];
    d[0] = d[1 + imf_reflect(-1, w)];
    v[w + 1] = v[1 + imf_reflect(w, w)];
    d[w + 1] = d[1 + imf_reflect(w, w)];
    for (ptrdiff_t x = 0; x < w; x++) {
        float a = v[x + 2] * 1.0f - v[x];
        float b = d[x + 1] * 2.0f + (d[x] + d[x + 2]);
        gx[x] = a;
        gy[x] = b;
        mag[x + 1] = sqrtf(a * a + b * b);
    }
    mag[0] = mag[1 + imf_reflect(-1, w)];
    mag[w + 1] = mag[1 + imf_reflect(w, w)];
}

/* One row of non-maximum suppression and the class codes. up, mid, down: the
 * magnitude rows y-1, y, y+1 with a reflected column each side. The codes go to
 * int32 first (a loop of one width vectorises), then are narrowed to bytes. */
static IMF_NOINLINE void imf_suppress(const float *restrict up, const float *restrict mid,
                         const float *restrict down, const float *restrict gx,
                         const float *restrict gy, int32_t *restrict codes,
                         uint8_t *restrict out, ptrdiff_t w, float below, float above,
                         float low, float high, int classify)
{
    for (ptrdiff_t x = 0; x < w; x++) {
        const ptrdiff_t c = x + 1;
        float ax = fabsf(gx[x]), ay = fabsf(gy[x]);
        float across = ax >= ay ? 1.0f : 0.0f;
        float along = 1.0f - across;
        float same = gx[x] * gy[x] >= 0.0f ? 1.0f : 0.0f;
        float other = 1.0f - same;
        float other_across = other * across, other_along = other * along;
        /* np.minimum / np.maximum: NaN wins, ties give the second operand. */
        float lo = (ax < ay || ax != ax) ? ax : ay;
        float hi = (ax > ay || ax != ax) ? ax : ay;
        float weight = lo / (hi + 1e-30f);
        float centre = mid[c];
        float near = across * mid[c + 1] + along * down[c];
        float diag = same * down[c + 1] + other_across * up[c + 1] + other_along * down[c - 1];
        diag = (diag - near) * weight + near;
        int keep = centre * below > diag;
        near = across * mid[c - 1] + along * up[c];
        diag = same * up[c - 1] + other_across * down[c - 1] + other_along * up[c + 1];
        diag = (diag - near) * weight + near;
        keep &= centre * above >= diag;
        codes[x] = classify ? (keep & (centre > low)) + (keep & (centre > high)) : keep;
    }
    for (ptrdiff_t x = 0; x < w; x++)
        out[x] = (uint8_t)codes[x];
}

/* Rows r0..r1 of the gradient and suppression of the (h, w) image ``src`` (row
 * stride ``pitch`` floats, may be negative). Writes the magnitude rows to ``mag``
 * (pitch w) unless NULL, and class codes (classify) or 0/1 maxima to ``cls``
 * (the framed array's first interior pixel, pitch w + 2). ``work``: 16 (w + 2) floats. */
static void imf_canny_band(const float *src, ptrdiff_t pitch, ptrdiff_t h, ptrdiff_t w,
                           ptrdiff_t r0, ptrdiff_t r1, float *mag, uint8_t *cls, float *work,
                           float below, float above, float low, float high, int classify)
{
    const ptrdiff_t n = w + 2;
    float *v = work, *d = work + n;
    float *slot_mag[3], *slot_gx[3], *slot_gy[3];
    int32_t *codes = (int32_t *)(work + 11 * n);
    ptrdiff_t tag[3] = {-1, -1, -1};
    for (int s = 0; s < 3; s++) {
        slot_mag[s] = work + (2 + 3 * s) * n;
        slot_gx[s] = work + (3 + 3 * s) * n;
        slot_gy[s] = work + (4 + 3 * s) * n;
    }
    for (ptrdiff_t y = r0; y < r1; y++) {
        ptrdiff_t need[3] = {imf_reflect(y - 1, h), y, imf_reflect(y + 1, h)};
        int at[3];
        for (int i = 0; i < 3; i++) {
            ptrdiff_t k = need[i];
            int s = (int)(k % 3);
            at[i] = s;
            if (tag[s] == k)
                continue;
            const float *up = src + imf_reflect(k - 1, h) * pitch;
            const float *row = src + k * pitch;
            const float *down = src + imf_reflect(k + 1, h) * pitch;
            imf_vertical(up, row, down, v + 1, d + 1, w);
            imf_horizontal(v, d, slot_gx[s], slot_gy[s], slot_mag[s], w);
            tag[s] = k;
        }
        const float *centre = slot_mag[at[1]];
        imf_suppress(slot_mag[at[0]], centre, slot_mag[at[2]], slot_gx[at[1]], slot_gy[at[1]],
                     codes, cls + (y - r0) * n, w, below, above, low, high, classify);
        if (mag)
            memcpy(mag + (y - r0) * w, centre + 1, (size_t)w * sizeof(float));
    }
}

/* Class codes from magnitude and 0/1 maxima (automatic thresholds), rows of one band. */
static void imf_classify(const float *restrict mag, uint8_t *restrict cls, ptrdiff_t rows,
                         ptrdiff_t w, float low, float high)
{
    for (ptrdiff_t y = 0; y < rows; y++) {
        const float *m = mag + y * w;
        uint8_t *c = cls + y * (w + 2);
        for (ptrdiff_t x = 0; x < w; x++) {
            uint8_t keep = c[x];
            c[x] = (uint8_t)(keep & (m[x] > low)) + (uint8_t)(keep & (m[x] > high));
        }
    }
}

/* Hysteresis on the framed (h + 2, w + 2) class array: every candidate 8-connected
 * through candidates to a strong pixel becomes 3. It runs in three steps so that
 * bands of rows can go on several threads: each band floods from its own strong
 * pixels without leaving its rows (imf_flood_band); then, on one thread, every kept
 * pixel on either side of a band boundary seeds a flood that goes anywhere
 * (imf_flood_join); then each band writes its rows of the edge map (imf_mark). */
typedef struct {
    ptrdiff_t *data;
    size_t top, capacity;
} imf_stack;

static int imf_stack_init(imf_stack *stack)
{
    stack->top = 0;
    stack->capacity = 4096;
    stack->data = malloc(stack->capacity * sizeof(ptrdiff_t));
    return stack->data ? 0 : -1;
}

/* Pop pixels and push their unkept candidate neighbours, within linear indices
 * [lo, hi) of the framed array, until the stack is empty. 0, or -1 out of memory. */
static int imf_flood(uint8_t *cls, ptrdiff_t n, imf_stack *stack, ptrdiff_t lo, ptrdiff_t hi)
{
    const ptrdiff_t step[8] = {-n - 1, -n, -n + 1, -1, 1, n - 1, n, n + 1};
    while (stack->top) {
        ptrdiff_t p = stack->data[--stack->top];
        if (stack->capacity - stack->top < 8) {
            ptrdiff_t *grown = realloc(stack->data, 2 * stack->capacity * sizeof(ptrdiff_t));
            if (!grown)
                return -1;
            stack->data = grown;
            stack->capacity *= 2;
        }
        for (int i = 0; i < 8; i++) {
            ptrdiff_t q = p + step[i];
            if (q >= lo && q < hi && (cls[q] == 1 || cls[q] == 2)) {
                cls[q] = 3;
                stack->data[stack->top++] = q;
            }
        }
    }
    return 0;
}

/* Image rows y0..y1: flood from each strong pixel, staying inside these rows. */
static int imf_flood_band(uint8_t *cls, ptrdiff_t w, ptrdiff_t y0, ptrdiff_t y1)
{
    const ptrdiff_t n = w + 2, lo = (y0 + 1) * n, hi = (y1 + 1) * n;
    imf_stack stack;
    if (imf_stack_init(&stack))
        return -1;
    int failed = 0;
    for (ptrdiff_t p = lo; p < hi && !failed; p++) {
        if (cls[p] != 2)
            continue;
        cls[p] = 3;
        stack.data[stack.top++] = p;
        failed = imf_flood(cls, n, &stack, lo, hi);
    }
    free(stack.data);
    return failed;
}

/* After the bands: kept pixels in the rows either side of each band start (image
 * rows, > 0) seed one flood over the whole image (the frame of zeros bounds it). */
static int imf_flood_join(uint8_t *cls, ptrdiff_t h, ptrdiff_t w, const int64_t *starts,
                          ptrdiff_t count)
{
    const ptrdiff_t n = w + 2;
    imf_stack stack;
    if (imf_stack_init(&stack))
        return -1;
    int failed = 0;
    for (ptrdiff_t b = 0; b < count && !failed; b++) {
        for (ptrdiff_t p = starts[b] * n; p < (starts[b] + 2) * n && !failed; p++) {
            if (cls[p] != 3)
                continue;
            stack.data[stack.top++] = p;
            failed = imf_flood(cls, n, &stack, 0, (h + 2) * n);
        }
    }
    free(stack.data);
    return failed;
}

/* Image rows y0..y1 of the edge map: 1 where the pixel was kept. */
static void imf_mark(const uint8_t *restrict cls, ptrdiff_t w, ptrdiff_t y0, ptrdiff_t y1,
                     uint8_t *restrict out)
{
    for (ptrdiff_t y = y0; y < y1; y++) {
        const uint8_t *c = cls + (y + 1) * (w + 2) + 1;
        uint8_t *o = out + (y - y0) * w;
        for (ptrdiff_t x = 0; x < w; x++)
            o[x] = c[x] == 3;
    }
}

/* The k-th smallest (0-based) of non-negative floats read with strides (their bit
 * patterns order as the values do), by radix selection: three passes over the bits
 * 31-20, 19-10 and 9-0, each counting the values that share the prefix found so
 * far. Four interleaved histograms (``counts``: 4 x 4096 uint32) keep neighbouring,
 * similar values from waiting on one counter. With ``check``, returns -1 (and sets
 * nothing) when a value may be NaN (its top 12 bits are those of +inf or above):
 * the caller looks for NaN, then calls again without ``check`` if there is none. */
static int imf_select(const float *values, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t pitch,
                      ptrdiff_t step, size_t k, uint32_t *counts, float *found, int check)
{
    static const int shifts[3] = {20, 10, 0}, widths[3] = {12, 10, 10};
    uint32_t prefix = 0;
    for (int pass = 0; pass < 3; pass++) {
        const int shift = shifts[pass], top = shifts[pass] + widths[pass];
        const uint32_t bins = 1u << widths[pass], mask = bins - 1;
        memset(counts, 0, 4 * bins * sizeof(uint32_t));
        for (ptrdiff_t y = 0; y < rows; y++) {
            const uint32_t *row = (const uint32_t *)(values + y * pitch);
            for (ptrdiff_t x = 0; x < cols; x++) {
                uint32_t bits = row[x * step];
                if (pass == 0 || (bits >> top) == prefix)
                    counts[(x & 3) * bins + ((bits >> shift) & mask)]++;
            }
        }
        if (pass == 0 && check)
            for (uint32_t b = 0x7f8; b < 4096; b++)
                if (counts[b] | counts[bins + b] | counts[2 * bins + b] | counts[3 * bins + b])
                    return -1;
        uint32_t bin = 0;
        for (;;) {
            size_t n = (size_t)counts[bin] + counts[bins + bin] + counts[2 * bins + bin] +
                       counts[3 * bins + bin];
            if (k < n)
                break;
            k -= n;
            bin++;
        }
        prefix = (prefix << widths[pass]) | bin;
    }
    memcpy(found, &prefix, sizeof prefix);
    return 0;
}

/* The (k + 1)-th smallest of the same values, given ``value``, the k-th: ``value``
 * again when more than k + 1 values are <= it, else the least value above it. */
static float imf_select_next(const float *values, ptrdiff_t rows, ptrdiff_t cols,
                             ptrdiff_t pitch, ptrdiff_t step, size_t k, float value)
{
    uint32_t bound;
    memcpy(&bound, &value, sizeof bound);
    size_t at_most = 0;
    uint32_t least = 0xffffffffu;
    for (ptrdiff_t y = 0; y < rows; y++) {
        const uint32_t *row = (const uint32_t *)(values + y * pitch);
        for (ptrdiff_t x = 0; x < cols; x++) {
            uint32_t bits = row[x * step];
            at_most += bits <= bound;
            uint32_t above = bits > bound ? bits : 0xffffffffu;
            least = above < least ? above : least;
        }
    }
    if (at_most > k + 1)
        return value;
    float result;
    memcpy(&result, &least, sizeof result);
    return result;
}

/* Whether any of the strided values is NaN. */
static int imf_has_nan(const float *values, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t pitch,
                       ptrdiff_t step)
{
    for (ptrdiff_t y = 0; y < rows; y++) {
        const float *row = values + y * pitch;
        int nan = 0;
        for (ptrdiff_t x = 0; x < cols; x++)
            nan |= row[x * step] != row[x * step];
        if (nan)
            return 1;
    }
    return 0;
}
