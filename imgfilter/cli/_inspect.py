"""``imgfilter info`` and ``imgfilter compare``: facts about images, and how two differ.

Both read files, folders (``-r`` for subfolders), quoted globs and ``-`` like every
operation. ``--json`` prints one JSON object per file (``info``) or per pair
(``compare``), one per line (JSON Lines), so ``jq`` and scripts read either alike.

>>> _plain({"min": [float("nan"), 1.0], "psnr": float("inf")})
{'min': [None, 1.0], 'psnr': None}
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from imgfilter import _native
from imgfilter._checks import size_text
from imgfilter.cli import _tasks
from imgfilter.cli._options import inputs_argument, max_pixels_option, quiet_option
from imgfilter.cli._report import collect_warnings, debug_option, error, warning, with_file

_JSON_HELP = "One JSON object per line (JSON Lines), for scripts."
recursive_option = click.option(
    "-r", "--recursive", is_flag=True, help="Walk the subfolders of a folder INPUT."
)


def _name(source: Path) -> str:
    return "<stdin>" if source == _tasks.STDIO else str(source)


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and infinities become null (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _read_stdin(files) -> bytes | None:
    return sys.stdin.buffer.read() if any(s == _tasks.STDIO for s, _ in files) else None


@click.command("info")
@inputs_argument
@recursive_option
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@quiet_option()
@max_pixels_option
@debug_option
def info_command(inputs: tuple[str, ...], recursive: bool, as_json: bool, quiet: bool) -> int:
    """Size, mode, bit depth, format and per-channel min/max/mean of each image."""
    found = _tasks.expand(inputs, recursive)
    for note in found.notes:
        warning(note)
    stdin = _read_stdin(found.files)
    bad = 0
    for source, _ in found.files:
        facts, problem = None, None
        with collect_warnings(_name(source)) as lines:
            try:
                facts = {**_describe(source, stdin), "engine": _native.engine()}
            except ValueError as failure:
                problem = with_file(_name(source), str(failure))
        for line in lines:
            warning(line)
        if facts is None:
            bad += 1
            error(problem)
        elif as_json:
            click.echo(json.dumps(_plain(facts), ensure_ascii=False))
        else:
            click.echo(f"{source}:")
            for key, value in facts.items():
                click.echo(f"  {key}: {_fact(value)}")
    return 1 if bad else 0


def _describe(source: Path, stdin: bytes | None) -> dict[str, Any]:
    from imgfilter import io

    if source != _tasks.STDIO:
        return io.describe(source)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="imgfilter-") as folder:
        path = os.path.join(folder, "stdin")
        with open(path, "wb") as file:
            file.write(stdin or b"")
        try:
            facts = io.describe(path)
        except ValueError as failure:
            raise ValueError(str(failure).replace(path, "<stdin>")) from None
    return {**facts, "path": "-"}


def _fact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fact(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_fact(v)}" for k, v in value.items())
    return str(value)


@click.command("compare")
@click.argument("first", type=click.Path(allow_dash=True), metavar="A")
@click.argument("second", type=click.Path(allow_dash=True), metavar="B")
@recursive_option
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@quiet_option()
@max_pixels_option
@debug_option
def compare_command(first: str, second: str, recursive: bool, as_json: bool, quiet: bool) -> int:
    """PSNR (dB, peak 255), SSIM, and the max and mean absolute difference of A and B.

    A and B are two images, or two folders: each image in A is compared with the one
    of the same name in B. Gray against colour compares the gray as R = G = B; alpha
    that only one image has is composited over black first.
    """
    pairs = _pairs(first, second, recursive)
    stdin = sys.stdin.buffer.read() if "-" in (first, second) else None
    bad = 0
    for a, b in pairs:
        facts, problem = None, None
        with collect_warnings(_name(a)) as lines:
            try:
                facts = _compare(a, b, stdin)
            except ValueError as failure:
                problem = str(failure)
        for line in lines:
            warning(line)
        if facts is None:
            bad += 1
            error(problem)
        elif as_json:
            click.echo(json.dumps(_plain({"a": str(a), "b": str(b), **facts})))
        else:
            header, indent = (f"{a} vs {b}:", "  ") if len(pairs) > 1 else (None, "")
            if header:
                click.echo(header)
            psnr = "inf (identical)" if facts["psnr"] == math.inf else f"{facts['psnr']:.2f} dB"
            click.echo(f"{indent}PSNR: {psnr}")
            ssim = "n/a (under 11×11)" if math.isnan(facts["ssim"]) else f"{facts['ssim']:.4f}"
            click.echo(f"{indent}SSIM: {ssim}")
            click.echo(f"{indent}max abs diff: {facts['max_abs_diff']:.4g}")
            click.echo(f"{indent}mean abs diff: {facts['mean_abs_diff']:.4g}")
    return 1 if bad else 0


def _pairs(first: str, second: str, recursive: bool) -> list[tuple[Path, Path]]:
    if first == second == "-":
        raise click.UsageError("'-' (stdin) can be read only once")
    folders = [text != "-" and Path(text).is_dir() for text in (first, second)]
    if folders[0] != folders[1]:
        raise click.UsageError(
            f"compare takes two images or two folders; {first if folders[0] else second} is a"
            " folder"
        )
    if not folders[0]:
        return [(Path(first), Path(second))]
    found = _tasks.expand([first], recursive)
    for note in found.notes:
        warning(note)
    return [(source, Path(second) / place) for source, place in found.files]


def _load(source: Path, stdin: bytes | None):
    from imgfilter import io

    return io.load_bytes(stdin or b"") if source == _tasks.STDIO else io.load(source)


def comparable(a, b, first: Path, second: Path):
    """``a`` and ``b`` (of one size) in one channel layout: gray is promoted to RGB where
    the other is colour, and alpha held by only one is composited over black.

    >>> import numpy as np
    >>> rgba = np.array([[[200.0, 100.0, 0.0, 127.5]]])
    >>> comparable(np.array([[50.0]]), rgba, Path("g"), Path("c"))[1].tolist()
    [[[100.0, 50.0, 0.0]]]
    """
    import numpy as np

    counts = [1 if x.ndim == 2 else x.shape[2] for x in (a, b)]
    if counts[0] == counts[1]:
        return a, b
    if not all(count in (1, 2, 3, 4) for count in counts):
        raise ValueError(
            f"{first} is {size_text(a.shape)} but {second} is {size_text(b.shape)}: channel"
            " counts differ (compare pairs gray, gray+alpha, RGB and RGBA images)"
        )
    alphas = [count in (2, 4) for count in counts]
    pair = []
    for x, count in zip((a, b), counts, strict=True):
        x = x.reshape(*x.shape[:2], count)
        if alphas[0] != alphas[1] and count in (2, 4):  # over black: colour x alpha
            x = x[..., :-1] * (x[..., -1:] / np.float32(255))
        if max(counts) >= 3 and x.shape[2] in (1, 2):  # gray as R = G = B
            x = np.concatenate([np.repeat(x[..., :1], 3, axis=2), x[..., 1:]], axis=2)
        pair.append(x[..., 0] if x.shape[2] == 1 else x)
    return pair[0], pair[1]


def _compare(first: Path, second: Path, stdin: bytes | None) -> dict[str, float]:
    """PSNR, SSIM and the differences; the absolute differences in bands of rows."""
    import numpy as np

    from imgfilter.ops import metrics

    a, b = _load(first, stdin), _load(second, stdin)
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(
            f"{first} is {size_text(a.shape)} but {second} is {size_text(b.shape)}:"
            " compare needs images of one size"
        )
    a, b = comparable(a, b, first, second)
    try:
        psnr = float(metrics.psnr(a, b))
        small = min(a.shape[:2]) < 2 * metrics.SSIM_RADIUS + 1
        ssim = math.nan if small else float(metrics.ssim(a, b))
    except ValueError as failure:
        raise ValueError(f"{first}, {second}: {failure}") from None
    rows = max(1, (1 << 20) // max(1, a[0].size))
    biggest, total = 0.0, 0.0
    for start in range(0, a.shape[0], rows):
        band = np.abs(a[start : start + rows].astype(np.float64) - b[start : start + rows])
        biggest, total = max(biggest, float(band.max())), total + float(band.sum())
    return {"psnr": psnr, "ssim": ssim, "max_abs_diff": biggest, "mean_abs_diff": total / a.size}
