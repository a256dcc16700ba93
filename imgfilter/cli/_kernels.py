"""``imgfilter kernels [list | show NAME | validate FILE...]``: the kernels, as numbers.

>>> _canonical("Sobel_X")
'sobel-x'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from imgfilter._checks import size_text
from imgfilter.cli._report import error, with_file
from imgfilter.params import parse_assignments


@click.group("kernels", invoke_without_command=True)
@click.pass_context
def kernels_group(ctx: click.Context) -> None:
    """List, show and check kernels (built-in, on IMGFILTER_KERNEL_PATH, or .json files).

    Alone, 'imgfilter kernels' lists them, as 'imgfilter kernels list' does.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(kernels_list)


@kernels_group.command("list")
def kernels_list() -> None:
    """A table of the kernels: name, size, sum, description; built-ins first.

    A file on IMGFILTER_KERNEL_PATH whose name a built-in (or an earlier file) already
    has is marked shadowed: that name always means the other kernel.
    """
    from imgfilter import kernels

    rows, seen = [], {}
    for entry in kernels.catalog():
        try:
            kernel = entry.build()
            size, total = size_text(kernel.shape), f"{_sum(kernel):g}"
        except ValueError:
            size, total = "-", "-"
        if entry.params:
            size += " (" + ", ".join(f"{name}=" for name in entry.params) + ")"
        rows.append((entry.name, size, total, entry.description))
        seen[_canonical(entry.name)] = "the built-in " + entry.name
    for folder in kernels.kernel_path_folders():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            shadow = seen.get(_canonical(path.stem))
            note = f" (shadowed by {shadow})" if shadow else ""
            seen.setdefault(_canonical(path.stem), str(path))
            try:
                kernel = kernels.load_kernel(path)
                size, total = size_text(kernel.shape), f"{_sum(kernel):g}"
                about = kernel.description or str(path)
            except (ValueError, TypeError, OSError, RecursionError) as problem:
                size, total, about = "-", "-", f"invalid: {problem}"
            rows.append((path.stem, size, total, about + note))
    _table(("name", "size", "sum", "description"), rows)


def _canonical(name: str) -> str:
    """Kernel names ignore case and ``_``/``-``, as the catalog's lookup does."""
    return name.strip().lower().replace("_", "-")


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
