"""Files to results: inputs become tasks, tasks run on threads, each failure is one line.

Everything that can be known before a pixel is read is checked first (exit 2): the
output names, their formats against the mapping, depth and quality, an output that is
an input. Then every file is processed; a file that fails is reported and the rest are
still written (exit 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from imgfilter import formats
from imgfilter.cli._options import Options
from imgfilter.cli._report import DEBUG, Failure, error, print_traceback, with_file


@dataclass(frozen=True)
class _Task:
    source: Path  # Path("-") for stdin
    target: Path  # Path("-") for stdout


def process(pipeline, inputs: tuple[Path, ...], opts: Options) -> int:
    """Plan every output, refuse a bad plan up front (exit 2), then work (exit 1 on failure)."""
    if opts.fmt is not None:
        opts.fmt = opts.fmt.lower().lstrip(".")
        if opts.fmt not in formats.extensions():
            raise click.BadParameter(
                f"unknown format {opts.fmt!r}; known: {', '.join(formats.extensions())}",
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
    tasks = _plan_tasks(inputs, opts, opts.rescale or pipeline.output_mapping)
    folders = {t.target.parent for t in tasks if str(t.target) != "-"} if len(tasks) > 1 else ()
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            reason = problem.strerror
            raise Failure(f"{folder}: cannot create the output folder: {reason}") from None
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

    files, _ = _expand(inputs, formats.extensions())
    failures = 0
    for source in files:
        try:
            image = io.load_bytes(stdin or b"") if str(source) == "-" else io.load(source)
            values = pipeline.run(image)
        except ValueError as problem:
            failures += 1
            error(with_file(source, str(problem)))
            continue
        click.echo(f"{source}: " + " ".join(f"{float(v):.6g}" for v in values))
    return 1 if failures else 0


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def _explain(pipeline, source: Path, stdin: bytes | None, *, to_stderr: bool) -> None:
    from imgfilter import io

    try:
        image = io.load_bytes(stdin) if str(source) == "-" else io.load(source)
    except ValueError as problem:
        raise Failure(str(problem)) from None
    try:
        text = pipeline.explain(image.shape)
    except ValueError as problem:
        raise Failure(f"{source}: {problem}") from None
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


def _plan_tasks(inputs: Sequence[Path], opts: Options, mapping: str) -> list[_Task]:
    files, batch = _expand(inputs, formats.extensions())
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
        _check_output_format(task, opts, mapping)
    if not opts.overwrite:
        for task in tasks:
            if str(task.source) != "-" and _same_file(task.source, task.target):
                raise click.UsageError(
                    f"{task.target}: output is the input file; pass --overwrite to replace it"
                )
    return tasks


def _check_output_format(task: _Task, opts: Options, mapping: str) -> None:
    """Refuse, before any work, an output whose format cannot honour the options."""
    try:
        if opts.fmt or str(task.target) == "-":
            fmt = formats.format_name(opts.fmt or "png")
        else:
            fmt = formats.format_of(task.target)
        formats.check_output(fmt, mapping, int(opts.depth), opts.quality)
    except ValueError as problem:
        raise click.UsageError(f"{task.target}: {problem}") from None


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
        except Exception as problem:  # noqa: BLE001 - reported per file, the batch goes on
            if DEBUG["on"]:
                print_traceback(problem)
            message = str(problem)
            if type(problem).__name__ == "ImageFileError":
                return message
            if not isinstance(problem, (ValueError, TypeError, OSError)):
                message = f"{type(problem).__name__}: {message}"
            return f"{source}: {message}"
        return None


def _run_tasks(job: _Job, tasks: list[_Task], opts: Options) -> int:
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
                error(problem)
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
