/* 0-255 float32 -> uint8 / uint16 (x257): NaN -> 0, clip, round half to even.
 *
 * Written in C rather than Cython so that each step stays one branch-free
 * instruction: "v > 0 ? v : 0" is maxss (NaN gives 0), "v < top ? v : top" is
 * minss, and adding then subtracting 2**23 rounds half to even below 2**23, as
 * numpy's rint does. The loops vectorise.
 */
#include "portable.h"
#include <stddef.h>
#include <stdint.h>

static inline float imf_clip_round(float value, float top)
{
    const float magic = 8388608.0f;
    value = value > 0.0f ? value : 0.0f;
    value = value < top ? value : top;
    return (value + magic) - magic;
}

static void imf_quantise8(const float *restrict source, uint8_t *restrict out, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = (uint8_t)(int32_t)imf_clip_round(source[i], 255.0f);
}

static void imf_quantise16(const float *restrict source, uint16_t *restrict out, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = (uint16_t)(int32_t)imf_clip_round(source[i] * 257.0f, 65535.0f);
}
