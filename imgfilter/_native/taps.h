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
 * Each output row is cut into chunks of IMF_CHUNK floats and every pass runs on
 * one chunk, so the chunk (and the scratch row of a large group) stays in the L1
 * cache. A pass reads several taps and keeps its running sum in registers:
 *   PRODUCTS  up to 8 one-tap groups:      s = (s + a*wa) + b*wb ...
 *   PAIRS     [one one-tap group, then] up to 4 two-tap groups (symmetric
 *             1-D kernels):                s = (s + a*wa) + (b + c)*wb ...
 *   SUM       up to 4 taps of one larger group, then its weight.
 * The result does not depend on how the groups are cut into passes: every
 * float32 operation and its order are the numpy engine's. Rows are W*C floats
 * (channels interleaved); tap offsets are in floats from the output row's first
 * source float. Nothing here allocates or touches Python objects.
 */
#include "portable.h"
#include <stddef.h>
#include <stdint.h>

/* Rows are walked one after the other (a chunk loop outside the row loop measured
 * slower: rows of a power-of-two width alias in the cache, and prefetch is lost).
 * Chunks of 8192 floats (32 KB; the chunk and the scratch row stay in the L2 cache)
 * read each source row in longer runs than chunks of 1024 did: on rows fresh from
 * memory, the loop alone on a 1024² RGB 3x3 kernel took 2.6-3.1 ms against 3.5-3.8,
 * and gaussian at 4096² RGB 101 ms against 111 (medians of four runs, interleaved). */
#define IMF_CHUNK 8192
#define IMF_SUM_MAX 4      /* taps of one group per SUM pass */
#define IMF_PRODUCTS_MAX 8 /* one-tap groups per PRODUCTS pass */
#define IMF_PAIRS_MAX 4    /* two-tap groups per PAIRS pass */
#define IMF_TAPS_MAX 9     /* taps read by one pass */

enum { IMF_SUM = 0, IMF_PRODUCTS = 1, IMF_PAIRS = 2 };
/* Where a pass's running sum starts. */
enum { IMF_BASE_NONE = 0, IMF_BASE_OUT = 1, IMF_BASE_SCRATCH = 2 };
/* What a SUM pass does with its sum: store it, store it times w, add it times w to acc. */
enum { IMF_STORE = 0, IMF_SCALE = 1, IMF_ADD_SCALED = 2 };
enum { IMF_TO_ACC = 0, IMF_TO_SCRATCH = 1 };

typedef struct {
    int code;  /* kind, base, finish, a and b packed by IMF_KEY */
    int taps;  /* how many taps the pass reads */
    int out;   /* IMF_TO_ACC or IMF_TO_SCRATCH */
    int first; /* index of the pass's first tap */
    float w;   /* the group's weight (SUM) */
} imf_pass;

/* a: taps (SUM, PRODUCTS) or the leading one-tap group (PAIRS, 0 or 1); b: pairs. */
#define IMF_KEY(kind, base, finish, a, b) (((((kind) * 3 + (base)) * 3 + (finish)) * 16 + (a)) * 8 + (b))

#if defined(__GNUC__) && !defined(__clang__)
#define IMF_IVDEP _Pragma("GCC ivdep")
#else
#define IMF_IVDEP
#endif

#define IMF_CASE(kind, base, finish, a, b)                                    \
    case IMF_KEY(kind, base, finish, a, b):                                   \
        IMF_NAME(imf_run)(out, scratch, v, ws, w, n, kind, base, finish, a, b); \
        break;
#define IMF_SUMS(base, finish)                                                \
    IMF_CASE(IMF_SUM, base, finish, 1, 0)                                     \
    IMF_CASE(IMF_SUM, base, finish, 2, 0)                                     \
    IMF_CASE(IMF_SUM, base, finish, 3, 0)                                     \
    IMF_CASE(IMF_SUM, base, finish, 4, 0)
#define IMF_PRODUCTS_K(base)                                                  \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 1, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 2, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 3, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 4, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 5, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 6, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 7, 0)                             \
    IMF_CASE(IMF_PRODUCTS, base, IMF_STORE, 8, 0)
#define IMF_PAIRS_M(base, lead)                                               \
    IMF_CASE(IMF_PAIRS, base, IMF_STORE, lead, 1)                             \
    IMF_CASE(IMF_PAIRS, base, IMF_STORE, lead, 2)                             \
    IMF_CASE(IMF_PAIRS, base, IMF_STORE, lead, 3)                             \
    IMF_CASE(IMF_PAIRS, base, IMF_STORE, lead, 4)

/* The passes for groups of taps (sizes[g] taps each, weights[g], largest first;
 * the taps in group order). Returns the pass count; `passes` holds at least
 * 2 * ntaps entries. */
static int imf_plan(const int *sizes, const float *weights, int ngroups, imf_pass *passes)
{
    int count = 0, tap = 0;
    for (int g = 0; g < ngroups;) {
        const int size = sizes[g];
        const float w = weights[g];
        const int base = g == 0 ? IMF_BASE_NONE : IMF_BASE_OUT;
        const int lead = size == 1;
        if (size <= 2 && g + lead < ngroups && sizes[g + lead] == 2) {
            /* [a one-tap group, then] a run of two-tap groups */
            int pairs = 0;
            while (g + lead + pairs < ngroups && sizes[g + lead + pairs] == 2
                   && pairs < IMF_PAIRS_MAX)
                pairs++;
            const int taps = lead + 2 * pairs;
            passes[count++] = (imf_pass){IMF_KEY(IMF_PAIRS, base, IMF_STORE, lead, pairs), taps,
                                         IMF_TO_ACC, tap, 0.0f};
            tap += taps;
            g += lead + pairs;
            continue;
        }
        if (size == 1) {
            /* a run of one-tap groups */
            int run = 1;
            while (g + run < ngroups && sizes[g + run] == 1 && run < IMF_PRODUCTS_MAX) run++;
            passes[count++] = (imf_pass){IMF_KEY(IMF_PRODUCTS, base, IMF_STORE, run, 0), run,
                                         IMF_TO_ACC, tap, 0.0f};
            tap += run;
            g += run;
            continue;
        }
        /* One group's sum, IMF_SUM_MAX taps a pass, the last pass taking the rest. */
        const int target = g == 0 ? IMF_TO_ACC : IMF_TO_SCRATCH;
        for (int done = 0; done < size;) {
            const int k = size - done > IMF_SUM_MAX ? IMF_SUM_MAX : size - done;
            const int last = done + k == size;
            int from = done == 0 ? IMF_BASE_NONE : IMF_BASE_OUT;
            int finish = IMF_STORE, out = target;
            if (last && g == 0) {
                finish = w == 1.0f ? IMF_STORE : IMF_SCALE;
            } else if (last) {
                finish = IMF_ADD_SCALED;
                out = IMF_TO_ACC;
                if (done > 0) from = IMF_BASE_SCRATCH;
            }
            passes[count++] =
                (imf_pass){IMF_KEY(IMF_SUM, from, finish, k, 0), k, out, tap + done, w};
            done += k;
        }
        tap += size;
        g++;
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

#define IMF_SRC float
#define IMF_NAME(name) name
#include "taps_loops.h"
#undef IMF_SRC
#undef IMF_NAME

#define IMF_SRC uint8_t
#define IMF_NAME(name) name##_u8
#include "taps_loops.h"
#undef IMF_SRC
#undef IMF_NAME
