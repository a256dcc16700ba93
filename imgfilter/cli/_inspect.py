"""The inspection commands: ``kernels list|show|validate``, ``info`` and ``compare``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from imgfilter._checks import size_text
from imgfilter.cli._report import Failure, debug_option, error, with_file
from imgfilter.params import parse_assignments


@click.group("kernels")
def kernels_group() -> None:
    """List, show and check kernels (built-in, on IMGFILTER_KERNEL_PATH, or .json files)."""


@kernels_group.command("list")
def kernels_list() -> None:
    """A table of the built-in kernels: name, size, sum, description."""
    from imgfilter import kernels

    rows = []
    for entry in kernels.catalog():
        try:
            kernel = entry.build()
            size, total = size_text(kernel.shape), f"{_sum(kernel):g}"
        except ValueError:
            size, total = "-", "-"
        if entry.params:
            size += " (" + ", ".join(f"{name}=" for name in entry.params) + ")"
        rows.append((entry.name, size, total, entry.description))
    for folder in kernels.kernel_path_folders():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                kernel = kernels.load_kernel(path)
                rows.append(
                    (
                        path.stem,
                        size_text(kernel.shape),
                        f"{_sum(kernel):g}",
                        kernel.description or str(path),
                    )
                )
            except ValueError as problem:
                rows.append((path.stem, "-", "-", f"invalid: {problem}"))
    _table(("name", "size", "sum", "description"), rows)


def _sum(kernel) -> float:
    members = getattr(kernel, "kernels", (kernel,))
    return round(sum(k.sum for k in members) / len(members), 10) + 0.0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [str(row[-1])]
        click.echo("  ".join(cells).rstrip())


@kernels_group.command("show")
@click.argument("name")
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
def kernels_show(name: str, params: tuple[str, ...]) -> None:
    """The matrix, sum, separability and source of kernel NAME (a name or a .json file).

    Parameters of a built-in follow as key=value: imgfilter kernels show gaussian sigma=2
    """
    from imgfilter import kernels

    try:
        kernel = kernels.resolve_kernel(name, parse_assignments(params, repr(name)))
    except (ValueError, TypeError) as problem:
        raise click.UsageError(str(problem)) from None
    try:
        entry = kernels.catalog_entry(kernels.parse_kernel_spec(name)[0])
    except ValueError:
        entry = None
    members = getattr(kernel, "kernels", (kernel,))
    click.echo(f"{kernel.name}: {kernel.description}".rstrip(": "))
    click.echo(f"source: {kernel.source}")
    if entry is not None:
        click.echo("definition:\n" + _indent(entry.definition))
        for key, param in entry.params.items():
            default = entry.default(key)
            shown = "none: chosen from the others" if default is None else default
            rule = f", {param.describe()}" if param.describe() else ""
            click.echo(
                f"parameter {key} ({param.metavar}{rule}, default {shown}): {entry.help[key]}"
            )
    for i, member in enumerate(members):
        label = "matrix" if len(members) == 1 else f"kernel {i}: {member.name}"
        click.echo(f"{label} ({size_text(member.shape)}):")
        click.echo(_indent(kernels.format_matrix(member.matrix)))
        click.echo(f"sum: {member.sum:.6g}")
        click.echo(f"separable: {_factors_text(member.separable_factors())}")


def _factors_text(factors) -> str:
    """``yes, 1/16 × column [1, 2, 1] × row [1, 2, 1]`` or ``no``."""
    if factors is None:
        return "no"
    column, row = ("[" + ", ".join(f"{v:.6g}" for v in taps) + "]" for taps in factors[:2])
    scale = factors.scale
    if scale == 1:
        prefix = ""
    elif (1 / scale).is_integer():
        prefix = f"1/{int(1 / scale)} × "
    else:
        prefix = f"{scale:.6g} × "
    return f"yes, {prefix}column {column} × row {row}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@kernels_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def kernels_validate(files: tuple[Path, ...]) -> int:
    """Check kernel .json files; exit 1 naming the exact fault of any bad one."""
    from imgfilter import kernels

    bad = 0
    for path in files:
        try:
            kernel = kernels.load_kernel(path)
        except (ValueError, TypeError) as problem:
            bad += 1
            error(with_file(path, str(problem)))
            continue
        members = getattr(kernel, "kernels", (kernel,))
        what = "bank of " + str(len(members)) if len(members) > 1 else "kernel"
        click.echo(
            f"{path}: ok: {what} {kernel.name!r}, {size_text(kernel.shape)}, sum {_sum(kernel):g}"
        )
    return 1 if bad else 0


@click.command("info")
@click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUT..."
)
def info_command(inputs: tuple[Path, ...]) -> int:
    """Size, mode, bit depth, format and per-channel min/max/mean of each image."""
    from imgfilter import io

    bad = 0
    for path in inputs:
        try:
            facts = io.describe(path)
        except ValueError as problem:
            bad += 1
            error(str(problem))
            continue
        click.echo(f"{path}:")
        for key, value in facts.items():
            click.echo(f"  {key}: {_fact(value)}")
    return 1 if bad else 0


def _fact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fact(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_fact(v)}" for k, v in value.items())
    return str(value)


@click.command("compare")
@click.argument("first", type=click.Path(path_type=Path), metavar="A")
@click.argument("second", type=click.Path(path_type=Path), metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@debug_option
def compare_command(first: Path, second: Path, as_json: bool) -> int:
    """PSNR (dB, peak 255), SSIM, and the max and mean absolute difference of A and B."""
    import json

    import numpy as np

    from imgfilter import io

    try:
        a, b = io.load(first), io.load(second)
    except ValueError as problem:
        raise Failure(str(problem)) from None
    if a.shape != b.shape:
        raise Failure(
            f"{first} is {size_text(a.shape)} but {second} is {size_text(b.shape)}:"
            " compare needs images of one size"
        )
    from imgfilter.ops import metrics

    try:
        psnr, ssim = float(metrics.psnr(a, b)), float(metrics.ssim(a, b))
    except ValueError as problem:
        raise Failure(f"{first}, {second}: {problem}") from None
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    facts = {
        "psnr": psnr,
        "ssim": ssim,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }
    if as_json:
        safe = {k: (None if v == float("inf") else v) for k, v in facts.items()}
        click.echo(json.dumps(safe))
    else:
        click.echo(f"PSNR: {'inf (identical)' if psnr == float('inf') else f'{psnr:.2f} dB'}")
        click.echo(f"SSIM: {ssim:.4f}")
        click.echo(f"max abs diff: {facts['max_abs_diff']:.4g}")
        click.echo(f"mean abs diff: {facts['mean_abs_diff']:.4g}")
    return 0
