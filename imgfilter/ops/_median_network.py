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


# Windows whose merge network is compiled as straight-line C; larger ones run
# :func:`slot_program` in the kernel (GCC takes minutes over a 1556-step block).
C_MERGE_MAX = 7
_LOOP = '_Pragma("GCC ivdep") for (ptrdiff_t e = 0; e < n; e++)'
_FUNCTIONS = """
static IMF_INLINE void imf_colsort{size}(const float *const *rows, float *const *sorted,
                                        ptrdiff_t n, const int nan)
{{
    const float {rows};
    float {sorted};
    if (nan) {{
        IMF_COLSORT{size}(float, IMF_NMIN, IMF_NMAX)
    }} else {{
        IMF_COLSORT{size}(float, IMF_MIN, IMF_MAX)
    }}
}}
static IMF_INLINE void imf_colsort{size}_u8(const uint8_t *const *rows, uint8_t *const *sorted,
                                           ptrdiff_t n)
{{
    const uint8_t {rows};
    uint8_t {sorted};
    IMF_COLSORT{size}(uint8_t, IMF_MIN, IMF_MAX)
}}
"""
_MERGE_FUNCTIONS = """
static IMF_INLINE void imf_merge{size}(const float *const *sorted, ptrdiff_t C,
                                      float *restrict out, ptrdiff_t n, const int nan)
{{
    const float {sorted};
    if (nan) {{
        IMF_MERGE{size}(float, IMF_NMIN, IMF_NMAX)
    }} else {{
        IMF_MERGE{size}(float, IMF_MIN, IMF_MAX)
    }}
}}
static IMF_INLINE void imf_merge{size}_u8(const uint8_t *const *sorted, ptrdiff_t C,
                                         float *restrict out, ptrdiff_t n)
{{
    const uint8_t {sorted};
    IMF_MERGE{size}(uint8_t, IMF_MIN, IMF_MAX)
}}
"""


def c_network(size: int) -> str:
    """The network for ``size`` as C functions, pasted into ``_native/median.h``.

    ``imf_colsort<size>`` sorts the columns of ``size`` rows (vectorised along the
    row), ``imf_merge<size>`` (up to ``C_MERGE_MAX``) runs the pruned merge on the
    sorted columns of each window; ``nan`` picks NaN-propagating MIN/MAX (numpy's
    minimum/maximum) or plain ones; the ``_u8`` twins run on 8-bit values. Regenerate
    the header's middle part with ``python -m imgfilter.ops._median_network``.

    >>> "static IMF_INLINE void imf_merge3(" in c_network(3)
    True
    """
    column_sort, program, result = median_program(size)
    n = range(size)
    sort_ops = " ".join(
        f"{{ T a = x{lo}, b = x{hi}; x{lo} = MIN(a, b); x{hi} = MAX(a, b); }}"
        for lo, hi in column_sort
    )
    loads = " ".join(f"T x{i} = r{i}[e];" for i in n)
    stores = " ".join(f"s{i}[e] = x{i};" for i in n)
    used = {a for _, _, a, b, *_ in program} | {b for _, _, a, b, *_ in program}
    merge_loads = " ".join(
        f"const T v{j * size + i} = s{i}[e + {j} * C];"
        for j in n
        for i in n
        if j * size + i in used
    )
    merge_ops = " ".join(
        f"const T v{dst} = {kind.upper()}(v{a}, v{b});" for dst, kind, a, b, *_ in program
    )
    names = {
        "size": size,
        "rows": ", ".join(f"*restrict r{i} = rows[{i}]" for i in n),
        "sorted": ", ".join(f"*restrict s{i} = sorted[{i}]" for i in n),
    }
    text = [f"/* generated by imgfilter.ops._median_network.c_network({size}) */"]
    text.append(f"#define IMF_COLSORT{size}(T, MIN, MAX) \\")
    text.append(f"    {_LOOP} {{ {loads} {sort_ops} {stores} }}")
    if size <= C_MERGE_MAX:
        text.append(f"#define IMF_MERGE{size}(T, MIN, MAX) \\")
        text.append(f"    {_LOOP} {{ {merge_loads} {merge_ops} out[e] = (float)v{result}; }}")
    text.append(_FUNCTIONS.format(**names))
    if size <= C_MERGE_MAX:
        text.append(_MERGE_FUNCTIONS.format(**names))
    return "\n".join(_wrapped(line) for line in "\n".join(text).split("\n"))


def _wrapped(line: str, width: int = 96) -> str:
    """A long generated macro line broken after statements, with continuations."""
    if len(line) <= width:
        return line
    pieces, current = [], []
    for word in line.split(" "):
        full = sum(len(w) + 1 for w in current) + len(word) > width
        if current and full and current[-1].endswith((";", "{", "}")):
            pieces.append(" ".join(current))
            current = []
        current.append(word)
    pieces.append(" ".join(current))
    return " \\\n        ".join(pieces)


@cache
def slot_program(size: int):
    """The merge network of ``size`` for the kernel's interpreter: (steps, result, slots).

    ``steps`` is an int32 array of rows (is_max, dst, a, b): an operand >= 0 is a
    scratch slot, -1 - id is the window value ``id`` (``j * size + i``: rank i of
    sorted column j). A step's destination is never one of its operands, and a slot
    is reused once its value is dead, so ``slots`` stays small.

    >>> steps, result, slots = slot_program(3)
    >>> steps.shape, int(steps[0][2]), slots <= 9
    ((20, 4), -1, True)
    """
    import numpy as np

    _, program, result = median_program(size)
    base = size * size
    slot_of: dict[int, int] = {}
    free: list[int] = []
    slots = 0
    steps = []

    def operand(value: int) -> int:
        return slot_of[value] if value >= base else -1 - value

    for dst, kind, a, b, last_a, last_b in program:
        row = [int(kind == "max"), 0, operand(a), operand(b)]
        if free:
            row[1] = free.pop()
        else:
            row[1], slots = slots, slots + 1
        slot_of[dst] = row[1]
        steps.append(row)
        for value, last in ((a, last_a), (b, last_b and b != a)):
            if last:
                free.append(slot_of.pop(value))
    return np.array(steps, dtype=np.int32), slot_of[result], slots


if __name__ == "__main__":
    print("".join(c_network(size) for size in range(3, 12, 2)))
