"""Files to results: check the whole plan (exit 2), then explain, print values or write files.

Everything that can be known before a pixel is read is checked first: the output
names (:mod:`~imgfilter.cli._tasks`), their formats against the mapping, depth and
quality, an output that is an input, a colour result into a float TIFF. Then every file
is processed on worker threads (:mod:`~imgfilter.cli._run`); a file that fails is
reported and the rest are still written (exit 1).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from imgfilter import formats
from imgfilter.cli import _run, _tasks
from imgfilter.cli._options import Options
from imgfilter.cli._report import QUIET, Failure, collect_warnings, error, warning, with_file


def process(
    pipeline, inputs: Sequence[str], opts: Options, pipeline_text: str | None = None
) -> int:
    """Plan every output, refuse a bad plan up front (exit 2), then work (exit 1 on failure).

    ``pipeline_text`` is what ``imgfilter run`` was given, for the "quote the pipeline" hint.
    """
    QUIET["on"] = opts.quiet
    if opts.fmt is not None:
        opts.fmt = opts.fmt.lower().lstrip(".")
        if opts.fmt not in formats.extensions():
            raise click.BadParameter(
                f"unknown format {opts.fmt!r}; known: {', '.join(formats.extensions())}",
                param_hint="'--format'",
            )
    _tasks.check_stray_step_words(inputs, pipeline_text, opts.output)
    if pipeline.gives_values:
        if opts.output is not None:
            raise click.UsageError("global pooling prints one value per channel: drop -o")
    elif opts.output is None and not opts.explain and opts.trace is None:
        raise click.UsageError("missing -o/--output (or use --explain alone to see the plan)")
    found = _tasks.expand(inputs, opts.recursive)
    mapping = opts.rescale or pipeline.output_mapping
    names = _tasks.feature_maps(pipeline)
    tasks = []
    if opts.output is not None and not pipeline.gives_values:
        tasks = _tasks.plan(found, opts, mapping, len(names or ()))
        if names is None or len(names) == 1:  # a float TIFF keeps K > 1 maps as pages
            _tasks.check_float_tiff(pipeline, tasks, opts, mapping)
    for note in found.notes:
        warning(note)
    stdin = _read_stdin() if any(source == _tasks.STDIO for source, _ in found.files) else None
    if opts.explain:
        to_stdout = bool(tasks) and tasks[0].target == _tasks.STDIO
        _explain(pipeline, found.files[0][0], stdin, to_stderr=to_stdout)
        if opts.output is None and not pipeline.gives_values:
            return 0
    if opts.trace is not None:
        to_stdout = bool(tasks) and tasks[0].target == _tasks.STDIO
        _trace(pipeline, found.files[0][0], stdin, opts.trace, to_stderr=to_stdout)
        if opts.output is None:
            return 0
    if pipeline.gives_values:
        return _print_values(pipeline, [source for source, _ in found.files], stdin)
    _make_folders(tasks)
    job = _run.Job(
        pipeline,
        opts.rescale,
        opts.fmt,
        opts.quality,
        opts.depth,
        stdin,
        alpha=opts.alpha,
        strip=opts.strip,
        maps=opts.maps,
        names=names,
    )
    jobs = min(opts.jobs or _run.cores(), len(tasks))
    if opts.scheduler is None:
        return _run.run_tasks(job, tasks, jobs, quiet=opts.quiet, batch=found.batch)
    from imgfilter.cli import _dask, _rows

    if len(tasks) == 1 and _rows.streams(tasks[0].source):
        # One huge file: its bands go to the workers, and this process writes them.
        job.cluster = _dask.client_for(opts.scheduler)
        try:
            return _run.run_tasks(job, tasks, 1, quiet=opts.quiet, batch=found.batch)
        finally:
            job.cluster.close()
    with _dask.executor(opts.scheduler) as pool:
        return _run.run_tasks(job, tasks, jobs, quiet=opts.quiet, batch=found.batch, pool=pool)


def _make_folders(tasks: Sequence[_tasks.Task]) -> None:
    """Create every folder a folder OUTPUT needs (OUTPUT itself, the mirrored subfolders)."""
    for folder in sorted({t.target.parent for t in tasks if t.in_folder}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            reason = problem.strerror or str(problem)
            raise Failure(f"{folder}: cannot create the output folder: {reason}") from None


def _print_values(pipeline, sources: list[Path], stdin: bytes | None) -> int:
    """Global pooling: print ``file: value ...`` (one value per channel) for each input."""
    from imgfilter import io

    failures = 0
    for source in sources:
        name = "<stdin>" if source == _tasks.STDIO else str(source)
        with collect_warnings(name) as lines:
            try:
                image = io.load_bytes(stdin or b"") if source == _tasks.STDIO else io.load(source)
                values = pipeline.run(image)
            except ValueError as problem:
                values, problem_text = None, with_file(name, str(problem))
        for line in lines:
            warning(line)
        if values is None:
            failures += 1
            error(problem_text)
            continue
        click.echo(f"{source}: " + " ".join(f"{float(v):.6g}" for v in values))
    return 1 if failures else 0


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def _first_image(source: Path, stdin: bytes | None):
    """The first input, loaded for --explain and --trace (its warnings printed)."""
    from imgfilter import io

    name = "<stdin>" if source == _tasks.STDIO else str(source)
    with collect_warnings(name) as lines:
        try:
            image = io.load_bytes(stdin or b"") if source == _tasks.STDIO else io.load(source)
        except ValueError as problem:
            raise Failure(str(problem)) from None
    for line in lines:
        warning(line)
    return image


def _explain(pipeline, source: Path, stdin: bytes | None, *, to_stderr: bool) -> None:
    image = _first_image(source, stdin)
    try:
        text = pipeline.explain(image.shape, image)
    except ValueError as problem:
        raise Failure(f"{source}: {problem}") from None
    click.echo(f"{source}:\n{text}", err=to_stderr)


def _trace(pipeline, source: Path, stdin, at: tuple[int, int], *, to_stderr: bool) -> None:
    from imgfilter.trace import trace

    image = _first_image(source, stdin)
    try:
        text = trace(pipeline, image, *at)
    except ValueError as problem:
        raise click.UsageError(f"--trace {at[0]},{at[1]}: {problem}") from None
    click.echo(f"{source}:\n{text}", err=to_stderr)
