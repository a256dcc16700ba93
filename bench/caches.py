"""Each timed run starts with the CPU caches holding none of its data.

The round-robin times imgfilter right after the slowest competitor and each
competitor right after imgfilter, which has just read the same input. An image that
fits in the last-level cache (1024² RGB float32 is 12.6 MB; this machine's L3 holds
32 MiB) was then cold for imgfilter and warm for the library after it: the 1024²
3×3 kernel took 2.2 ms alone and 3.9 ms after scipy's call, in one process. Writing
a buffer of twice the largest cache before every timed run puts every library in the
same place: its input in memory, not in the cache.

>>> evict()  # touches twice the largest cache, about 4 ms here
"""

from __future__ import annotations

import glob
from functools import lru_cache

import numpy as np

FALLBACK_CACHE_BYTES = 64 << 20  # when sysfs does not say (not Linux)


def largest_cache_bytes() -> int:
    """The largest CPU cache's size (Linux sysfs), or FALLBACK_CACHE_BYTES."""
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu*/cache/index*/size"):
        try:
            with open(path) as file:
                text = file.read().strip()
        except OSError:
            continue
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        if text[-1:] in units and text[:-1].isdigit():
            sizes.append(int(text[:-1]) * units[text[-1]])
        elif text.isdigit():
            sizes.append(int(text))
    return max(sizes, default=FALLBACK_CACHE_BYTES)


@lru_cache(maxsize=1)
def _buffer() -> np.ndarray:
    return np.zeros(2 * largest_cache_bytes() // 8, dtype=np.int64)


def evict() -> None:
    """Read and write twice the largest cache's bytes, pushing everything else out."""
    buffer = _buffer()
    np.add(buffer, 1, out=buffer)
