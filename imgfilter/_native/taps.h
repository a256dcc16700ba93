/* The tap loop of the direct and separable strategies, row by row.
 *
 * acc[y, x] = sum over weight groups g of w_g * (sum of the group's taps
 * source[y*sy + i*dy, x + j*dx]), in exactly the float32 order of the numpy
 * engine (imgfilter._compute._accumulate_phase):
 *   group 0:  acc  = ((v0 + v1) + v2 ...) * w     (one tap: acc = v0 * w)
 *   group n:  acc  = acc + ((v0 + v1) + ...) * w  (one tap: acc = acc + v0 * w)
 * A multiplication by 1 or -1 is exact, so "acc + v * -1" equals numpy's
 * "acc - v" and the groups of weight 1 skip no rounding.
 *
 * Each output row is cut into chunks of IMF_CHUNK floats and every pass over the
 * taps runs on one chunk, so the chunk (and the scratch row of a large group)
 * stays in the L1 cache while up to IMF_MAXK taps are read per pass. Rows are
 * W*C floats (channels interleaved); tap offsets are in floats from the output
 * row's first source float. Nothing here allocates or touches Python objects.
 */
#include <stddef.h>
#include <stdint.h>

#ifndef IMF_CHUNK
#define IMF_CHUNK 1024
#endif
#define IMF_MAXK 4

/* What a pass reads first, and what it does with its sum. */
enum { IMF_SUM = 0, IMF_PRODUCTS = 1 };
enum { IMF_BASE_NONE = 0, IMF_BASE_OUT = 1, IMF_BASE_SCRATCH = 2 };
enum { IMF_STORE = 0, IMF_SCALE = 1, IMF_ADD_SCALED = 2 };
enum { IMF_TO_ACC = 0, IMF_TO_SCRATCH = 1 };

typedef struct {
    int code;  /* kind, base, finish and k packed by imf_code */
    int out;   /* IMF_TO_ACC or IMF_TO_SCRATCH */
    int first; /* index of the pass's first tap */
    float w;   /* the group's weight (IMF_SUM) */
} imf_pass;

static inline int imf_code(int kind, int base, int finish, int k)
{
    return ((kind * 3 + base) * 3 + finish) * IMF_MAXK + (k - 1);
}

#if defined(__GNUC__) && !defined(__clang__)
#define IMF_IVDEP _Pragma("GCC ivdep")
#else
#define IMF_IVDEP
#endif

/* One pass over n floats; kind, base, finish and k are constants at every call,
 * so each inlined copy is one straight vectorised loop. Sources never overlap
 * the outputs (the wrapper checks), hence ivdep. */
static inline __attribute__((always_inline)) void imf_run(
    float *out, const float *scratch, const float *const *v, const float *ws, float w,
    ptrdiff_t n, const int kind, const int base, const int finish, const int k)
{
    const float *v0 = v[0];
    const float *v1 = k > 1 ? v[1] : v0;
    const float *v2 = k > 2 ? v[2] : v0;
    const float *v3 = k > 3 ? v[3] : v0;
    const float w0 = ws[0], w1 = k > 1 ? ws[1] : 0.0f;
    const float w2 = k > 2 ? ws[2] : 0.0f, w3 = k > 3 ? ws[3] : 0.0f;
    IMF_IVDEP
    for (ptrdiff_t x = 0; x < n; x++) {
        float s;
        if (kind == IMF_PRODUCTS) {
            s = out[x] + v0[x] * w0;
            if (k > 1) s = s + v1[x] * w1;
            if (k > 2) s = s + v2[x] * w2;
            if (k > 3) s = s + v3[x] * w3;
            out[x] = s;
            continue;
        }
        if (base == IMF_BASE_NONE)
            s = v0[x];
        else if (base == IMF_BASE_OUT)
            s = out[x] + v0[x];
        else
            s = scratch[x] + v0[x];
        if (k > 1) s = s + v1[x];
        if (k > 2) s = s + v2[x];
        if (k > 3) s = s + v3[x];
        if (finish == IMF_STORE)
            out[x] = s;
        else if (finish == IMF_SCALE)
            out[x] = s * w;
        else
            out[x] = out[x] + s * w;
    }
}

#define IMF_CASE(kind, base, finish, k)                                       \
    case ((kind * 3 + base) * 3 + finish) * IMF_MAXK + (k - 1):               \
        imf_run(out, scratch, v, ws, w, n, kind, base, finish, k);            \
        break;
#define IMF_CASES_K(kind, base, finish)                                       \
    IMF_CASE(kind, base, finish, 1)                                           \
    IMF_CASE(kind, base, finish, 2)                                           \
    IMF_CASE(kind, base, finish, 3)                                           \
    IMF_CASE(kind, base, finish, 4)

static inline __attribute__((always_inline)) void imf_dispatch(int code, float *out, const float *scratch, const float *const *v,
                         const float *ws, float w, ptrdiff_t n)
{
    switch (code) {
        IMF_CASES_K(IMF_SUM, IMF_BASE_NONE, IMF_STORE)
        IMF_CASES_K(IMF_SUM, IMF_BASE_NONE, IMF_SCALE)
        IMF_CASES_K(IMF_SUM, IMF_BASE_NONE, IMF_ADD_SCALED)
        IMF_CASES_K(IMF_SUM, IMF_BASE_OUT, IMF_STORE)
        IMF_CASES_K(IMF_SUM, IMF_BASE_OUT, IMF_SCALE)
        IMF_CASES_K(IMF_SUM, IMF_BASE_SCRATCH, IMF_ADD_SCALED)
        IMF_CASES_K(IMF_PRODUCTS, IMF_BASE_OUT, IMF_STORE)
    default:
        break;
    }
}

/* The passes for groups of taps (sizes[g] taps each, weights[g], largest first;
 * the taps in group order). Returns the pass count; `passes` holds at least
 * 2 * ntaps entries. */
static int imf_plan(const int *sizes, const float *weights, int ngroups, imf_pass *passes)
{
    int count = 0, tap = 0;
    for (int g = 0; g < ngroups; g++) {
        const int size = sizes[g];
        const float w = weights[g];
        if (g > 0 && size == 1) {
            /* a run of one-tap groups: acc = (acc + a*wa) + b*wb ..., up to IMF_MAXK a pass */
            int run = 1;
            while (g + run < ngroups && sizes[g + run] == 1 && run < IMF_MAXK) run++;
            passes[count++] = (imf_pass){imf_code(IMF_PRODUCTS, IMF_BASE_OUT, IMF_STORE, run),
                                         IMF_TO_ACC, tap, 0.0f};
            tap += run;
            g += run - 1;
            continue;
        }
        /* The group's sum, IMF_MAXK taps a pass, the last pass taking 1..IMF_MAXK. */
        const int target = g == 0 ? IMF_TO_ACC : IMF_TO_SCRATCH;
        for (int done = 0; done < size;) {
            const int k = size - done > IMF_MAXK ? IMF_MAXK : size - done;
            const int last = done + k == size;
            int base = done == 0 ? IMF_BASE_NONE : IMF_BASE_OUT;
            int finish = IMF_STORE, out = target;
            if (last && g == 0) {
                finish = w == 1.0f ? IMF_STORE : IMF_SCALE;
            } else if (last) {
                finish = IMF_ADD_SCALED;
                out = IMF_TO_ACC;
                if (done > 0) base = IMF_BASE_SCRATCH;
            }
            passes[count++] = (imf_pass){imf_code(IMF_SUM, base, finish, k), out, tap + done, w};
            done += k;
        }
        tap += size;
    }
    return count;
}

/* One copy of the loops per instruction set, chosen when the module loads (the
 * results are the same: no FMA, the same float32 operations in the same order). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define IMF_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef IMF_CLONES
#define IMF_CLONES
#endif

/* acc rows (acc_stride floats apart) from source rows (row_step floats apart per
 * output row: sy times the source's row stride); n floats a row. */
IMF_CLONES static void imf_taps(float *acc, ptrdiff_t acc_stride, const float *source, ptrdiff_t row_step,
                     ptrdiff_t rows, ptrdiff_t n, const ptrdiff_t *offsets,
                     const float *tap_weights, const imf_pass *passes, int npasses,
                     float *scratch)
{
    const float *v[IMF_MAXK];
#ifdef IMF_COLUMNS_OUTER
    for (ptrdiff_t x0 = 0; x0 < n; x0 += IMF_CHUNK) {
        const ptrdiff_t len = n - x0 < IMF_CHUNK ? n - x0 : IMF_CHUNK;
        for (ptrdiff_t y = 0; y < rows; y++) {
            float *const acc_row = acc + y * acc_stride;
            const float *const source_row = source + y * row_step;
#else
    for (ptrdiff_t y = 0; y < rows; y++) {
        float *const acc_row = acc + y * acc_stride;
        const float *const source_row = source + y * row_step;
        for (ptrdiff_t x0 = 0; x0 < n; x0 += IMF_CHUNK) {
            const ptrdiff_t len = n - x0 < IMF_CHUNK ? n - x0 : IMF_CHUNK;
#endif
            for (int p = 0; p < npasses; p++) {
                const imf_pass pass = passes[p];
                const int k = pass.code % IMF_MAXK + 1;
                for (int t = 0; t < k; t++) v[t] = source_row + offsets[pass.first + t] + x0;
                float *out = pass.out == IMF_TO_ACC ? acc_row + x0 : scratch;
                imf_dispatch(pass.code, out, scratch, v, tap_weights + pass.first, pass.w, len);
            }
        }
    }
}
