/* The tap loops, written once for any source type: taps.h includes this file once
 * for float32 sources (imf_taps) and once for uint8 (imf_taps_u8), with IMF_SRC the
 * source type and IMF_NAME the function names. An 8-bit value converts to float32
 * exactly, and a sum of two of them (done in int, then converted) is exact too, so
 * the uint8 loops give the float32 loops' results on the converted image, bit for
 * bit, without the converted copy. */

/* One pass over n values. Every argument after n is a constant at each call, so
 * each inlined copy is one straight vectorised loop. Sources never overlap the
 * outputs (the wrapper checks), hence ivdep. */
static inline __attribute__((always_inline)) void IMF_NAME(imf_run)(
    float *out, const float *scratch, const IMF_SRC *const *v, const float *ws, float w,
    ptrdiff_t n, const int kind, const int base, const int finish, const int a, const int b)
{
    const int taps = kind == IMF_PAIRS ? a + 2 * b : a;
    const IMF_SRC *p[IMF_TAPS_MAX];
    float wt[IMF_TAPS_MAX];
    for (int t = 0; t < IMF_TAPS_MAX; t++) {
        p[t] = t < taps ? v[t] : v[0];
        wt[t] = t < taps ? ws[t] : 0.0f;
    }
    IMF_IVDEP
    for (ptrdiff_t x = 0; x < n; x++) {
        float s;
        if (kind == IMF_PRODUCTS) {
            s = base == IMF_BASE_NONE ? p[0][x] * wt[0] : out[x] + p[0][x] * wt[0];
            for (int t = 1; t < a; t++) s = s + p[t][x] * wt[t];
            out[x] = s;
        } else if (kind == IMF_PAIRS) {
            int t = 0;
            if (a) {
                s = base == IMF_BASE_NONE ? p[0][x] * wt[0] : out[x] + p[0][x] * wt[0];
                t = 1;
            } else {
                s = base == IMF_BASE_NONE ? (p[0][x] + p[1][x]) * wt[0]
                                          : out[x] + (p[0][x] + p[1][x]) * wt[0];
                t = 2;
            }
            for (; t < taps; t += 2) s = s + (p[t][x] + p[t + 1][x]) * wt[t];
            out[x] = s;
        } else {
            if (base == IMF_BASE_NONE)
                s = p[0][x];
            else if (base == IMF_BASE_OUT)
                s = out[x] + p[0][x];
            else
                s = scratch[x] + p[0][x];
            for (int t = 1; t < a; t++) s = s + p[t][x];
            if (finish == IMF_STORE)
                out[x] = s;
            else if (finish == IMF_SCALE)
                out[x] = s * w;
            else
                out[x] = out[x] + s * w;
        }
    }
}

static inline __attribute__((always_inline)) void IMF_NAME(imf_dispatch)(
    int code, float *out, const float *scratch, const IMF_SRC *const *v, const float *ws,
    float w, ptrdiff_t n)
{
    switch (code) {
        IMF_SUMS(IMF_BASE_NONE, IMF_STORE)
        IMF_SUMS(IMF_BASE_NONE, IMF_SCALE)
        IMF_SUMS(IMF_BASE_NONE, IMF_ADD_SCALED)
        IMF_SUMS(IMF_BASE_OUT, IMF_STORE)
        IMF_SUMS(IMF_BASE_OUT, IMF_SCALE)
        IMF_SUMS(IMF_BASE_SCRATCH, IMF_ADD_SCALED)
        IMF_PRODUCTS_K(IMF_BASE_NONE)
        IMF_PRODUCTS_K(IMF_BASE_OUT)
        IMF_PAIRS_M(IMF_BASE_NONE, 0)
        IMF_PAIRS_M(IMF_BASE_NONE, 1)
        IMF_PAIRS_M(IMF_BASE_OUT, 0)
        IMF_PAIRS_M(IMF_BASE_OUT, 1)
    default:
        break;
    }
}

/* acc rows (acc_stride floats apart) from source rows (row_step values apart per
 * output row: sy times the source's row stride); n values a row. */
IMF_CLONES static void IMF_NAME(imf_taps)(float *acc, ptrdiff_t acc_stride, const IMF_SRC *source,
                                ptrdiff_t row_step, ptrdiff_t rows, ptrdiff_t n,
                                const ptrdiff_t *offsets, const float *tap_weights,
                                const imf_pass *passes, int npasses, float *scratch)
{
    const IMF_SRC *v[IMF_TAPS_MAX];
    for (ptrdiff_t y = 0; y < rows; y++) {
        float *const acc_row = acc + y * acc_stride;
        const IMF_SRC *const source_row = source + y * row_step;
        for (ptrdiff_t x0 = 0; x0 < n; x0 += IMF_CHUNK) {
            const ptrdiff_t len = n - x0 < IMF_CHUNK ? n - x0 : IMF_CHUNK;
            for (int p = 0; p < npasses; p++) {
                const imf_pass pass = passes[p];
                for (int t = 0; t < pass.taps; t++)
                    v[t] = source_row + offsets[pass.first + t] + x0;
                float *out = pass.out == IMF_TO_ACC ? acc_row + x0 : scratch;
                IMF_NAME(imf_dispatch)(pass.code, out, scratch, v, tap_weights + pass.first, pass.w,
                                       len);
            }
        }
    }
}
