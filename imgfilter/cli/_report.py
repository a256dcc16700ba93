"""How the command line reports: one line on stderr, the exit code, ``--debug`` tracebacks.

Exit codes: 0 success; 1 a file could not be processed (the rest of a batch is still
written); 2 the command line itself is wrong. Every error reads
``imgfilter: error: <file>: <problem>``.
"""

from __future__ import annotations

from collections.abc import Callable

import click

DEBUG = {"on": False}


class Failure(click.ClickException):
    """A processing failure (exit 1): the message starts with the file it concerns."""

    exit_code = 1


def error(message: str) -> None:
    """Print one error line on stderr."""
    click.echo(f"imgfilter: error: {message}", err=True)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        DEBUG["on"] = True
    return value


def debug_option(function: Callable) -> Callable:
    """The ``--debug`` flag, accepted by every command."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show the full traceback of an error.",
    )(function)


def print_traceback(failure: BaseException) -> None:
    import traceback

    traceback.print_exception(failure)


def report_unexpected(failure: BaseException) -> None:
    """An error no check foresaw: its type and message, the traceback with --debug."""
    if DEBUG["on"]:
        print_traceback(failure)
    hint = "" if DEBUG["on"] else " (--debug shows where)"
    error(f"{type(failure).__name__}: {failure}{hint}")


def with_file(path: object, message: str) -> str:
    """``message`` starting with ``path``, unless it already does."""
    return message if message.startswith(str(path)) else f"{path}: {message}"
