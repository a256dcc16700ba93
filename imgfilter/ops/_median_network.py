"""The median's selection network: which elementwise min/max give the middle value.

Built once per window size and cached; :func:`imgfilter.ops.denoise.median` runs it
over shifted views of the image.

>>> column_sort, program, result = median_program(3)
>>> column_sort  # compare-exchange pairs that sort a column of 3
((0, 1), (0, 2), (1, 2))
"""

from __future__ import annotations

from functools import cache


@cache
def median_program(size: int):
    """(column sorting network, pruned window network, id of the median) for ``size``.

    Values are numbered: ``j * size + i`` is rank i of column j of the window; each
    min/max appends a new id. Columns are merged pairwise with Batcher's odd-even
    merge; operations that do not feed the median are dropped.
    """
    column_sort = _sorting_network(size)
    ops: list[tuple[str, int, int]] = []
    next_id = [size * size]

    def exchange(a, b):
        # None stands for +infinity (padding to a power of two): no work needed.
        if b is None:
            return a, b
        if a is None:
            return b, None
        lo, hi = next_id[0], next_id[0] + 1
        next_id[0] += 2
        ops.extend([("min", a, b), ("max", a, b)])
        return lo, hi

    def merge(first, second):
        half = 1 << (max(len(first), len(second)) - 1).bit_length()
        wires = first + [None] * (half - len(first)) + second + [None] * (half - len(second))
        for a, b in _merge_pairs(0, 2 * half - 1, 1):
            wires[a], wires[b] = exchange(wires[a], wires[b])
        return wires[: len(first) + len(second)]

    lists = [[j * size + i for i in range(size)] for j in range(size)]
    while len(lists) > 1:
        merged = [merge(lists[i], lists[i + 1]) for i in range(0, len(lists) - 1, 2)]
        lists = merged + ([lists[-1]] if len(lists) % 2 else [])
    result = lists[0][(size * size - 1) // 2]
    base = size * size
    needed, kept = {result}, []
    for index in range(len(ops) - 1, -1, -1):
        if base + index in needed:
            kind, a, b = ops[index]
            kept.append((base + index, kind, a, b))
            needed.update((a, b))
    kept.reverse()
    last_use: dict[int, int] = {}
    for position, (_, _, a, b) in enumerate(kept):
        last_use[a] = last_use[b] = position
    program = tuple(
        (dst, kind, a, b, last_use[a] == pos and a >= base, last_use[b] == pos and b >= base)
        for pos, (dst, kind, a, b) in enumerate(kept)
    )
    return tuple(column_sort), program, result


def _sorting_network(n: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs (lo, hi) that sort n wires: odd-even merge sort, pruned to n."""
    size = 1 << max(0, (n - 1).bit_length())
    pairs: list[tuple[int, int]] = []

    def sort(lo: int, m: int) -> None:
        if m > 1:
            sort(lo, m // 2)
            sort(lo + m // 2, m // 2)
            pairs.extend(_merge_pairs(lo, lo + m - 1, 1))

    sort(0, size)
    # Wires at n and beyond hold +infinity: comparisons with them change nothing.
    return [(a, b) for a, b in pairs if b < n]


def _merge_pairs(lo: int, hi: int, step: int):
    """Batcher's odd-even merge of wires lo..hi (inclusive) taken every ``step``."""
    double = step * 2
    if double < hi - lo:
        yield from _merge_pairs(lo, hi, double)
        yield from _merge_pairs(lo + step, hi, double)
        for i in range(lo + step, hi - step, double):
            yield (i, i + step)
    else:
        yield (lo, lo + step)
