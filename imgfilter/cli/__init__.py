"""The ``imgfilter`` command: one subcommand per registered operation, plus run/kernels/info.

Exit codes: 0 success; 1 a file could not be processed (the rest of a batch is
still written); 2 the command line itself is wrong (an option value, an unknown
step, a malformed pipeline); 128 + N after signal N (130 Ctrl-C, 143 SIGTERM) and 141
when the reader of stdout went away. Errors are one line on stderr,
``imgfilter: error: <file>: <problem>``; ``--debug`` adds the traceback.

An operation's command is built when it is asked for, from the library function's
own parameters, so ``imgfilter --help`` imports no numpy.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from imgfilter import registry
from imgfilter.cli import _inspect, _kernels, _run
from imgfilter.cli._options import Options, click_option, io_options, max_pixels_option
from imgfilter.cli._report import (
    DEBUG,
    QUIET,
    Failure,
    debug_option,
    error,
    report_unexpected,
    routed_warnings,
    safe_streams,
)
from imgfilter.operation import Operation
from imgfilter.params import value_text

BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `cat big | head -c 10`


class _Group(click.Group):
    """The top group: one-line errors, and operation commands built on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *registry.names()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in registry.names():
            op = registry.get_operation(name)
            self.add_command(_op_command(op), name)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command; operations by their one-line help, without building them."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=80)))
            else:
                op = registry.get_operation(name)
                rows.append((name, op.help if op.name == name else f"Alias of {op.name}."))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """An unknown command is a usage error with a did-you-mean (``median``: denoise)."""
        name = args[0] if args else ""
        if args and not name.startswith("-") and self.get_command(ctx, name) is None:
            hint = registry.did_you_mean(name, "command", self.list_commands(ctx))
            raise click.UsageError(f"No such command {name!r}{hint}.", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a closed stdout pipe ends it quietly, a signal with 128 + N."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(BROKEN_PIPE) from None
        except KeyboardInterrupt as interrupt:
            with _run.winding_down():
                _run.discard_temporaries()
                _run.say_interrupted(interrupt)
            raise click.exceptions.Exit(_run.exit_code(interrupt)) from None

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        DEBUG["on"] = QUIET["on"] = False
        _run.PROGRAM["on"] = args is None  # the console script and python -m pass no args
        safe_streams()
        try:
            with _run.signals_as_exceptions(), routed_warnings():
                code = super().main(args, prog_name or "imgfilter", standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as problem:
            problem.show()
            sys.exit(problem.exit_code)
        except click.UsageError as problem:
            message = problem.format_message()
            if problem.ctx is not None and "see '" not in message:
                message += f" (see '{problem.ctx.command_path} --help')"
            error(message)
            sys.exit(problem.exit_code)
        except click.ClickException as problem:
            error(problem.format_message())
            sys.exit(problem.exit_code)
        except (click.Abort, KeyboardInterrupt) as problem:
            interrupt = problem if isinstance(problem, KeyboardInterrupt) else problem.__cause__
            if isinstance(interrupt, KeyboardInterrupt):
                _run.discard_temporaries()
                error("interrupted")
                sys.exit(_run.exit_code(interrupt))
            error("aborted")
            sys.exit(1)
        except OSError as problem:
            if problem.errno == errno.EPIPE:
                _silence_stdout()
                sys.exit(BROKEN_PIPE)
            report_unexpected(problem)
            sys.exit(1)
        except Exception as problem:  # noqa: BLE001 - the last line of defence, one line
            report_unexpected(problem)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush meets no broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _show_version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from imgfilter import __version__, _native

    click.echo(f"imgfilter, version {__version__}\nengine: {_native.engine()}")
    ctx.exit()


@click.group(
    "imgfilter",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and the engine in use (compiled kernels or numpy), then exit.",
)
@debug_option
def main() -> None:
    """Classical image filtering: kernels, convolution, edges, denoising, pooling.

    \b
    imgfilter OP [OPTIONS] INPUT... -o OUTPUT     one operation (see the list below)
    imgfilter run PIPELINE INPUT... -o OUTPUT     a chain: 'gaussian sigma=1.4 | sobel'
    imgfilter demo                                showcase results and a contact sheet

    One INPUT writes the file OUTPUT; several INPUTs (or a folder, or OUTPUT
    ending in /) write into the folder OUTPUT. '-' reads stdin or writes stdout
    (with --format). Exit codes: 0 done, 1 a file failed, 2 a usage error, 130
    Ctrl-C, 143 SIGTERM, 141 a closed stdout pipe.
    """


def _op_command(op: Operation) -> click.Command:
    names = [o.name for o in op.options]

    def callback(inputs: tuple[str, ...], **kwargs: Any) -> int:
        from imgfilter.pipeline import Pipeline, PipelineError, make_step

        ctx = click.get_current_context()
        values = {n: kwargs.pop(n) for n in names}
        default = click.core.ParameterSource.DEFAULT
        given = [n for n in names if ctx.get_parameter_source(n) is not default]
        text = " ".join([op.name, *(f"{op.option(n).key}={value_text(values[n])}" for n in given)])
        try:
            pipeline = Pipeline([make_step(op.name, values, text)])
        except PipelineError as problem:
            raise click.UsageError(str(problem).split(": ", 1)[-1], ctx) from None
        from imgfilter.cli._batch import process

        return process(pipeline, inputs, Options(**kwargs))

    paragraphs = [op.help]
    if op.description:
        paragraphs.append(op.description)
    step = op.example or " ".join([op.name, *(f"{o.key}=..." for o in op.options[:1])])
    paragraphs.append(f"As a pipeline step: imgfilter run '{step}' INPUT -o OUTPUT")
    if op.mapping is None:
        paragraphs.append("Keeps the value range: saved with the previous step's mapping.")
    elif isinstance(op.mapping, str):
        paragraphs.append(f"Saved 8-bit output is mapped with '{op.mapping}' unless --rescale.")
    command = click.Command(
        op.name,
        callback=callback,
        params=[click_option(op, o) for o in op.options],
        help="\n\n".join(paragraphs),
        short_help=op.help,
        context_settings={"show_default": True, "help_option_names": ["-h", "--help"]},
    )
    return io_options(command)


@main.command("run")
@click.argument("pipeline_text", metavar="PIPELINE")
@io_options
def run_command(pipeline_text: str, inputs: tuple[str, ...], **kwargs: Any) -> int:
    """Run a chain of steps: 'gaussian sigma=1.4 | sobel | rescale mode=minmax'.

    PIPELINE is steps separated by '|', each an operation name and its options
    as key=value (the same names and values as the operation's --options), or a
    path to a .json file: {"steps": [{"op": "gaussian", "sigma": 1.4}, ...]}.
    The whole pipeline is checked before any image is read; values stay float32
    between steps.
    """
    from imgfilter.cli._batch import process
    from imgfilter.pipeline import Pipeline, PipelineError

    try:
        pipeline = Pipeline.parse(pipeline_text)
    except PipelineError as problem:
        raise click.UsageError(str(problem)) from None
    return process(pipeline, inputs, Options(**kwargs), pipeline_text=pipeline_text)


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
    help="Folder of sample photos  [default: the photos installed with imgfilter]",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the contact sheet's path.")
@max_pixels_option
@debug_option
def demo_command(output: Path, samples: Path | None, quiet: bool) -> int:
    """Run the showcase pipelines on the bundled photos and write a contact sheet."""
    from imgfilter.cli import _demo

    try:
        sheet = _demo.run_demo(output, samples, echo=None if quiet else click.echo)
    except ValueError as problem:
        raise Failure(str(problem)) from None
    click.echo(f"contact sheet: {sheet}")
    return 0


main.add_command(_kernels.kernels_group)
main.add_command(_inspect.info_command)
main.add_command(_inspect.compare_command)
