"""The ``imgfilter`` command: one subcommand per registered operation, plus run/kernels/info.

Exit codes: 0 success; 1 a file could not be processed (the rest of a batch is
still written); 2 the command line itself is wrong (an option value, an unknown
step, a malformed pipeline). Errors are one line on stderr,
``imgfilter: error: <file>: <problem>``; ``--debug`` adds the traceback.

Nothing here imports numpy until a command runs, so ``--help`` is quick.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from imgfilter import registry

_DEBUG = {"on": False}


class Failure(click.ClickException):
    """A processing failure (exit 1): the message starts with the file it concerns."""

    exit_code = 1


def _error(message: str) -> None:
    click.echo(f"imgfilter: error: {message}", err=True)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _DEBUG["on"] = True
    return value


def _debug_option(function: Callable) -> Callable:
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show the full traceback of an error.",
    )(function)


class _Group(click.Group):
    """A click group whose errors are one line: ``imgfilter: error: ...``."""

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        _DEBUG["on"] = False
        try:
            code = super().main(args, prog_name or "imgfilter", standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()
            sys.exit(error.exit_code)
        except click.UsageError as error:
            hint = ""
            if error.ctx is not None:
                hint = f" (see '{error.ctx.command_path} --help')"
            _error(error.format_message() + hint)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            _error(error.format_message())
            sys.exit(error.exit_code)
        except click.Abort:
            _error("aborted")
            sys.exit(1)
        except OSError as error:
            if error.errno == errno.EPIPE:
                sys.exit(1)
            _report_unexpected(error)
            sys.exit(1)
        except Exception as error:  # noqa: BLE001 - the last line of defence, one line
            _report_unexpected(error)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _print_traceback(error: BaseException) -> None:
    import traceback

    traceback.print_exception(error)


def _report_unexpected(error: BaseException) -> None:
    if _DEBUG["on"]:
        _print_traceback(error)
    _error(f"{type(error).__name__}: {error}" + ("" if _DEBUG["on"] else " (--debug shows where)"))


@click.group(
    "imgfilter",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.version_option(package_name="imgfilter", prog_name="imgfilter")
@_debug_option
def main() -> None:
    """Classical image filtering: kernels, convolution, edges, denoising, pooling.

    \b
    imgfilter OP [OPTIONS] INPUT... -o OUTPUT     one operation (see the list below)
    imgfilter run PIPELINE INPUT... -o OUTPUT     a chain: 'gaussian sigma=1.4 | sobel'
    imgfilter demo                                showcase results and a contact sheet

    One INPUT writes the file OUTPUT; several INPUTs (or a folder) write into the
    folder OUTPUT. '-' reads stdin or writes stdout. Exit codes: 0 done, 1 a file
    failed, 2 a usage error.
    """


# --- click types built from registry parameters ----------------------------------------


def _convert_with_registry(self, value: Any, param: click.Parameter | None, ctx):
    """click's ``convert``, done by the registry parameter: CLI and pipelines share messages."""
    if value is None:  # absent: click reports a missing required option itself
        return None
    try:
        return self.param.convert(value)
    except (ValueError, TypeError) as error:
        self.fail(str(error), param, ctx)


class _Checked(click.ParamType):
    """Converts with the registry parameter, so the CLI and pipelines share every message."""

    def __init__(self, param: registry.Param, metavar: str):
        self.param = param
        self.name = param.kind
        self.metavar = metavar

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.metavar

    convert = _convert_with_registry


class _CheckedFloat(click.FloatRange):
    """click's range type (so help shows the range) that converts through the registry."""

    def __init__(self, param: registry.Param):
        super().__init__(min=param.low, max=param.high, min_open=param.low_open)
        self.param = param

    convert = _convert_with_registry


class _CheckedInt(click.IntRange):
    def __init__(self, param: registry.Param):
        super().__init__(min=param.low, max=param.high, min_open=param.low_open)
        self.param = param

    convert = _convert_with_registry


class _CheckedChoice(click.Choice):
    def __init__(self, param: registry.Param):
        super().__init__([str(c) for c in param.choices])
        self.param = param

    convert = _convert_with_registry


_METAVARS = {
    "pair": "N|Y,X",
    "padding": "valid|same|P|PY,PX|T,B,L,R",
    "kernel": "NAME[:K=V,...]|FILE.json",
    "str": "TEXT",
    "float": "FLOAT",
}


def _click_type(param: registry.Param) -> click.ParamType:
    if param.choices:
        return _CheckedChoice(param)
    if param.kind == "float" and param.low is not None:
        return _CheckedFloat(param)
    if param.kind == "int" and param.low is not None and not param.optional:
        return _CheckedInt(param)
    metavar = _METAVARS.get(param.kind, param.kind.upper())
    if param.optional:
        metavar += "|auto"
    return _Checked(param, metavar)


def _click_option(param: registry.Param) -> click.Option:
    help_text = param.full_help
    if param.kind == "bool":
        return click.Option(
            [param.option, param.name], is_flag=True, default=param.default, help=help_text
        )
    if param.optional and param.default is None:
        help_text += "  [default: auto]"
    extra = {} if param.default is None else {"default": param.default}
    return click.Option(
        [param.option, param.name],
        type=_click_type(param),
        required=param.required,
        show_default=param.default is not None,
        help=help_text,
        **extra,
    )


# --- options shared by every command that writes images --------------------------------


def _io_options(function: Callable) -> Callable:
    options = [
        click.argument(
            "inputs",
            nargs=-1,
            required=True,
            type=click.Path(path_type=Path, allow_dash=True),
            metavar="INPUT...",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(path_type=Path, allow_dash=True),
            help="Output file (one input) or folder (several); '-' for stdout.",
        ),
        click.option(
            "--rescale",
            type=click.Choice(registry.RESCALE_MODES),
            default=None,
            help="Override the output mapping into 0-255 (default: the last step's: "
            "clip for smoothing, abs for signed edges).",
        ),
        click.option(
            "--format",
            "fmt",
            metavar="EXT",
            default=None,
            help="Output format (png, jpg, tif, webp, bmp, npy, ...): required for "
            "'-o -', else taken from the output name; in a batch, the extension.",
        ),
        click.option(
            "--quality", type=click.IntRange(1, 100), default=None, help="JPEG/WebP quality."
        ),
        click.option(
            "--depth",
            type=click.Choice(["8", "16"]),
            default="8",
            help="Bits per channel of PNG/TIFF output.",
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            default=None,
            help="Files processed in parallel  [default: the number of cores]",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        click.option("--overwrite", is_flag=True, help="Allow replacing an input file."),
        click.option(
            "--explain",
            is_flag=True,
            help="Print each step's shapes, the output-size "
            "formula and the engine strategy (for the first input).",
        ),
        _debug_option,
    ]
    # Decorators on a function are applied bottom-up; on a Command, params append in order.
    for option in options if isinstance(function, click.Command) else reversed(options):
        function = option(function)
    return function


@dataclass
class _Options:
    output: Path | None
    rescale: str | None
    fmt: str | None
    quality: int | None
    depth: int
    jobs: int | None
    quiet: bool
    overwrite: bool
    explain: bool


def _make_op_command(op: registry.Operation) -> click.Command:
    names = [p.name for p in op.params]

    def callback(inputs: tuple[Path, ...], **kwargs: Any) -> int:
        ctx = click.get_current_context()
        values = {n: kwargs.pop(n) for n in names}
        given = [
            n
            for n in names
            if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT
        ]
        text = " ".join([op.name, *(f"{op.param(n).key}={_show(values[n])}" for n in given)])
        from imgfilter.pipeline import Pipeline, PipelineError, make_step

        try:
            pipeline = Pipeline([make_step(op.name, values, text)])
        except PipelineError as error:
            raise click.UsageError(str(error).split(": ", 1)[-1], ctx) from None
        return _process(pipeline, inputs, _Options(**kwargs))

    paragraphs = [op.help]
    if op.description:
        paragraphs.append(op.description)
    step = op.example or " ".join([op.name, *(f"{p.key}=..." for p in op.params[:1])])
    paragraphs.append(f"As a pipeline step: imgfilter run '{step}' INPUT -o OUTPUT")
    if op.mapping is None:
        paragraphs.append("Keeps the value range: saved with the previous step's mapping.")
    elif isinstance(op.mapping, str):
        paragraphs.append(f"Saved 8-bit output is mapped with '{op.mapping}' unless --rescale.")
    command = click.Command(
        op.name,
        callback=callback,
        params=[_click_option(p) for p in op.params],
        help="\n\n".join(paragraphs),
        short_help=op.help,
        context_settings={"show_default": True, "help_option_names": ["-h", "--help"]},
    )
    return _io_options(command)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _add_operations() -> None:
    taken = {"run", "kernels", "info", "compare", "demo"}
    for op in registry.OPERATIONS.values():
        if op.name in taken:
            continue
        command = _make_op_command(op)
        main.add_command(command)
        for alias in op.aliases:
            main.add_command(command, alias)


@main.command("run")
@click.argument("pipeline_text", metavar="PIPELINE")
@_io_options
def run_command(pipeline_text: str, inputs: tuple[Path, ...], **kwargs: Any) -> int:
    """Run a chain of steps: 'gaussian sigma=1.4 | sobel | rescale mode=minmax'.

    PIPELINE is steps separated by '|', each an operation name and its options
    as key=value (the same names and values as the operation's --options), or a
    path to a .json file: {"steps": [{"op": "gaussian", "sigma": 1.4}, ...]}.
    The whole pipeline is checked before any image is read; values stay float32
    between steps.
    """
    from imgfilter.pipeline import Pipeline, PipelineError

    try:
        pipeline = Pipeline.parse(pipeline_text)
    except PipelineError as error:
        raise click.UsageError(str(error)) from None
    return _process(pipeline, inputs, _Options(**kwargs))


# --- processing files -------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    source: Path  # Path("-") for stdin
    target: Path  # Path("-") for stdout


def _process(pipeline, inputs: tuple[Path, ...], opts: _Options) -> int:
    """Plan every output, refuse a bad plan up front (exit 2), then work (exit 1 on failure)."""
    from imgfilter import io

    if opts.fmt is not None:
        opts.fmt = opts.fmt.lower().lstrip(".")
        known = sorted(ext.lstrip(".") for ext in io.FORMATS)
        if opts.fmt not in known:
            raise click.BadParameter(
                f"unknown format {opts.fmt!r}; known: {', '.join(known)}",
                param_hint="'--format'",
            )
    if pipeline.gives_values:
        if opts.output is not None:
            raise click.UsageError("global pooling prints one value per channel: drop -o")
    elif opts.output is None and not opts.explain:
        raise click.UsageError("missing -o/--output (or use --explain alone to see the plan)")
    stdin = _read_stdin() if any(str(p) == "-" for p in inputs) else None
    if opts.explain:
        _explain(pipeline, inputs[0], stdin, to_stderr=str(opts.output) == "-")
        if opts.output is None and not pipeline.gives_values:
            return 0
    if pipeline.gives_values:
        return _print_values(pipeline, inputs, stdin)
    tasks = _plan_tasks(inputs, opts, io.FORMATS, opts.rescale or pipeline.output_mapping)
    folders = {t.target.parent for t in tasks if str(t.target) != "-"} if len(tasks) > 1 else ()
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Failure(f"{folder}: cannot create the output folder: {error.strerror}") from None
    mapping = opts.rescale
    depth = int(opts.depth)
    job = _Job(pipeline, mapping, opts.fmt, opts.quality, depth, stdin)
    failures = _run_tasks(job, tasks, opts)
    if failures and len(tasks) > 1 and not opts.quiet:
        click.echo(f"imgfilter: {failures} of {len(tasks)} files failed", err=True)
    return 1 if failures else 0


def _print_values(pipeline, inputs: tuple[Path, ...], stdin: bytes | None) -> int:
    """Global pooling: print ``file: value ...`` (one value per channel) for each input."""
    from imgfilter import io

    files, _ = _expand(inputs, [ext.lstrip(".") for ext in io.FORMATS])
    failures = 0
    for source in files:
        try:
            image = io.load_bytes(stdin or b"") if str(source) == "-" else io.load(source)
            values = pipeline.run(image)
        except ValueError as error:
            failures += 1
            message = str(error)
            _error(message if message.startswith(str(source)) else f"{source}: {message}")
            continue
        click.echo(f"{source}: " + " ".join(f"{float(v):.6g}" for v in values))
    return 1 if failures else 0


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def _explain(pipeline, source: Path, stdin: bytes | None, *, to_stderr: bool) -> None:
    from imgfilter import io

    try:
        image = io.load_bytes(stdin) if str(source) == "-" else io.load(source)
    except ValueError as error:
        raise Failure(str(error)) from None
    try:
        text = pipeline.explain(image.shape)
    except ValueError as error:
        raise Failure(f"{source}: {error}") from None
    click.echo(f"{source}:\n{text}", err=to_stderr)


def _expand(inputs: Sequence[Path], known: Sequence[str]) -> tuple[list[Path], bool]:
    """Files to read, and whether OUTPUT must be a folder (several inputs or a folder)."""
    files: list[Path] = []
    folder_given = False
    for path in inputs:
        if str(path) != "-" and path.is_dir():
            folder_given = True
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower().lstrip(".") in known
            )
            if not found:
                raise click.UsageError(f"{path}: folder holds no image files")
            files.extend(found)
        else:
            files.append(path)
    return files, folder_given or len(files) > 1


def _plan_tasks(inputs: Sequence[Path], opts: _Options, formats, mapping: str) -> list[_Task]:
    files, batch = _expand(inputs, [ext.lstrip(".") for ext in formats])
    output = opts.output
    if sum(str(p) == "-" for p in files) > 1:
        raise click.UsageError("'-' (stdin) can be read only once")
    if str(output) == "-":
        if batch:
            raise click.UsageError("'-o -' (stdout) takes exactly one input")
        return [_Task(files[0], output)]
    if not batch and not output.is_dir():
        tasks = [_Task(files[0], output)]
    else:
        if output.exists() and not output.is_dir():
            raise click.UsageError(f"{output}: several inputs need OUTPUT to be a folder")
        tasks = []
        for source in files:
            stem = "stdin" if str(source) == "-" else source.stem
            suffix = f".{opts.fmt}" if opts.fmt else (source.suffix or ".png")
            tasks.append(_Task(source, output / (stem + suffix)))
        seen: dict[Path, Path] = {}
        for task in tasks:
            if task.target in seen:
                raise click.UsageError(
                    f"{seen[task.target]} and {task.source} would both be written to {task.target}"
                )
            seen[task.target] = task.source
    for task in tasks:
        _check_output_format(task, opts, formats, mapping)
    if not opts.overwrite:
        for task in tasks:
            if str(task.source) != "-" and _same_file(task.source, task.target):
                raise click.UsageError(
                    f"{task.target}: output is the input file; pass --overwrite to replace it"
                )
    return tasks


def _check_output_format(task: _Task, opts: _Options, formats, mapping: str) -> None:
    """Refuse, before any work, an output whose format cannot honour the options."""
    from imgfilter import io

    if str(task.target) == "-":
        ext = "." + (opts.fmt or "png")
    else:
        ext = "." + opts.fmt if opts.fmt else task.target.suffix.lower()
    fmt = formats.get(ext)
    if fmt is None:
        known = ", ".join(sorted(formats))
        raise click.UsageError(
            f"{task.target}: unknown output extension {ext or '(none)'!r}; "
            f"use one of {known} or --format"
        )
    if opts.quality is not None and fmt not in io.QUALITY_FORMATS:
        raise click.UsageError(
            f"--quality applies to JPEG and WebP only, not {fmt} ({task.target})"
        )
    if mapping == "none" and fmt not in ("NPY", "TIFF"):
        raise click.UsageError(
            f"output mapping 'none' keeps floats, which {fmt} cannot store ({task.target});"
            " write .npy or a gray .tif, or pick --rescale clip, minmax or abs"
        )
    if int(opts.depth) == 16 and fmt not in io.DEPTH_FORMATS:
        raise click.UsageError(f"--depth 16 needs PNG or TIFF output, not {fmt} ({task.target})")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


@dataclass(frozen=True)
class _Job:
    """Everything a worker thread needs to turn one input into one output."""

    pipeline: Any
    rescale: str | None
    fmt: str | None
    quality: int | None
    depth: int
    stdin: bytes | None

    def __call__(self, task: _Task) -> str | None:
        """Process one file; return None, or the one-line problem."""
        from imgfilter import io

        source = str(task.source)
        try:
            if source == "-":
                image = io.load_bytes(self.stdin or b"")
            else:
                image = io.load(task.source)
            result = self.pipeline.run(image)
            fmt = self.fmt or task.target.suffix.lower().lstrip(".") or "png"
            mapping = self.rescale
            if mapping is None and fmt != "npy":
                mapping = self.pipeline.output_mapping
            options = {"depth": self.depth, "quality": self.quality}
            if str(task.target) == "-":
                data = io.encode(result, fmt, mapping, **options)
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                io.save(result, task.target, mapping, format=self.fmt, **options)
        except Exception as error:  # noqa: BLE001 - reported per file, the batch goes on
            if _DEBUG["on"]:
                _print_traceback(error)
            message = str(error)
            if type(error).__name__ == "ImageFileError":
                return message
            if not isinstance(error, (ValueError, TypeError, OSError)):
                message = f"{type(error).__name__}: {message}"
            return f"{source}: {message}"
        return None


def _run_tasks(job: _Job, tasks: list[_Task], opts: _Options) -> int:
    """Run every task (in parallel when there are several); return the number that failed."""
    jobs = min(opts.jobs or _cores(), len(tasks))
    show_bar = len(tasks) > 1 and not opts.quiet and _is_terminal(sys.stderr)
    failures = 0
    with click.progressbar(
        length=len(tasks), label="imgfilter", file=sys.stderr, hidden=not show_bar
    ) as bar:
        for problem in _map(job, tasks, jobs):
            if problem is not None:
                failures += 1
                _error(problem)
            bar.update(1)
    return failures


def _map(job: _Job, tasks: list[_Task], jobs: int):
    if jobs <= 1:
        yield from map(job, tasks)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="imgfilter-file") as pool:
        futures = [pool.submit(job, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --- kernels, info, compare, demo -------------------------------------------------------


@main.group("kernels")
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
            size, total = "×".join(map(str, kernel.shape)), f"{_sum(kernel):g}"
        except ValueError:
            size, total = "-", "-"
        if entry.params:
            size += " (" + ", ".join(f"{name}=" for name in entry.params) + ")"
        rows.append((entry.name, size, total, entry.description))
    folders = os.environ.get("IMGFILTER_KERNEL_PATH", "").split(os.pathsep)
    for folder in (Path(f) for f in folders if f):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                kernel = kernels.load_kernel(path)
                rows.append(
                    (
                        path.stem,
                        "×".join(map(str, kernel.shape)),
                        f"{_sum(kernel):g}",
                        kernel.description or str(path),
                    )
                )
            except ValueError as error:
                rows.append((path.stem, "-", "-", f"invalid: {error}"))
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
    import numpy as np

    from imgfilter import kernels

    values = {}
    for item in params:
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise click.UsageError(f"kernel parameters read key=value, got {item!r}")
        values[key.replace("-", "_")] = value
    try:
        kernel = registry.resolve_kernel(name, values)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error)) from None
    try:
        entry = kernels.catalog_entry(registry.parse_kernel_spec(name)[0])
    except ValueError:
        entry = None
    members = getattr(kernel, "kernels", (kernel,))
    click.echo(f"{kernel.name}: {kernel.description}".rstrip(": "))
    click.echo(f"source: {kernel.source}")
    if entry is not None:
        click.echo("definition:\n" + _indent(entry.definition))
        for param in entry.params.values():
            click.echo(
                f"parameter {param.name} ({param.type}, default {param.default}): {param.help}"
            )
    for i, member in enumerate(members):
        label = "matrix" if len(members) == 1 else f"kernel {i}: {member.name}"
        click.echo(f"{label} ({'×'.join(map(str, member.shape))}):")
        click.echo(_indent(kernels.format_matrix(member.matrix)))
        click.echo(f"sum: {member.sum:.6g}")
        factors = member.separable_factors()
        if factors is None:
            click.echo("separable: no")
        else:
            col, row = (np.round(f, 6) + 0.0 for f in factors)
            click.echo(f"separable: yes, column {col.tolist()} × row {row.tolist()}")


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
            if path.is_dir():
                raise ValueError(f"{path}: is a directory, not a kernel file")
            if not path.exists():
                raise ValueError(f"{path}: no such file")
            kernel = kernels.load_kernel(path)
        except (ValueError, TypeError) as error:
            bad += 1
            message = str(error)
            _error(message if message.startswith(str(path)) else f"{path}: {message}")
            continue
        members = getattr(kernel, "kernels", (kernel,))
        what = "bank of " + str(len(members)) if len(members) > 1 else "kernel"
        click.echo(
            f"{path}: ok: {what} {kernel.name!r}, {'×'.join(map(str, kernel.shape))},"
            f" sum {_sum(kernel):g}"
        )
    return 1 if bad else 0


@main.command("info")
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
        except ValueError as error:
            bad += 1
            _error(str(error))
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


@main.command("compare")
@click.argument("first", type=click.Path(path_type=Path), metavar="A")
@click.argument("second", type=click.Path(path_type=Path), metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@_debug_option
def compare_command(first: Path, second: Path, as_json: bool) -> int:
    """PSNR (dB, peak 255), SSIM, and the max and mean absolute difference of A and B."""
    import json

    import numpy as np

    from imgfilter import io

    try:
        a, b = io.load(first), io.load(second)
    except ValueError as error:
        raise Failure(str(error)) from None
    if a.shape != b.shape:
        raise Failure(
            f"{first} is {_dims(a.shape)} but {second} is {_dims(b.shape)}:"
            " compare needs images of one size"
        )
    from imgfilter import metrics

    try:
        psnr, ssim = float(metrics.psnr(a, b)), float(metrics.ssim(a, b))
    except ValueError as error:
        raise Failure(f"{first}, {second}: {error}") from None
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


def _dims(shape: Sequence[int]) -> str:
    text = f"{shape[1]}×{shape[0]}"
    return text + (f"×{shape[2]}" if len(shape) == 3 else "")


@main.command("demo")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("imgfilter-demo"),
    help="Folder for the results and contact sheet.",
)
@click.option(
    "--samples",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of sample photos  [default: the checkout's samples/, else ./samples]",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the contact sheet's path.")
@_debug_option
def demo_command(output: Path, samples: Path | None, quiet: bool) -> int:
    """Run the showcase pipelines on the bundled photos and write a contact sheet."""
    from imgfilter import demo

    try:
        sheet = demo.run_demo(output, samples, echo=None if quiet else click.echo)
    except ValueError as error:
        raise Failure(str(error)) from None
    click.echo(f"contact sheet: {sheet}")
    return 0


_add_operations()
