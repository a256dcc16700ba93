/* What the kernels' C needs from compilers other than GCC and Clang (MSVC): attributes
 * are hints there and are dropped, and C's restrict is spelled __restrict. A compiler
 * that still cannot build a kernel leaves the numpy engine (see setup.py). */
#ifndef IMF_PORTABLE_H
#define IMF_PORTABLE_H
#if !defined(__GNUC__) && !defined(__clang__)
#define __attribute__(x)
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif
#endif
