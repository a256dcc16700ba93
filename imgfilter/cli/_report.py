"""How the command line reports: one line on stderr, the exit code, warnings, ``--debug``.

Exit codes: 0 success; 1 a file could not be processed (the rest of a batch is still
written); 2 the command line itself is wrong. Every error reads
``imgfilter: error: <file>: <problem>``, every warning ``imgfilter: warning: <file>: <what>``.

>>> warning_text("a.png", "overflow encountered in multiply", RuntimeWarning)
'a.png: overflow encountered in multiply'
"""

from __future__ import annotations

import codecs
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from imgfilter.errors import ImageWarning

DEBUG = {"on": False}
QUIET = {"on": False}


class Failure(click.ClickException):
    """A processing failure (exit 1): the message starts with the file it concerns."""

    exit_code = 1


def error(message: str) -> None:
    """Print one error line on stderr."""
    click.echo(f"imgfilter: error: {message}", err=True)


def warning(message: str) -> None:
    """Print one warning line on stderr, unless ``--quiet``."""
    if not QUIET["on"]:
        click.echo(f"imgfilter: warning: {message}", err=True)


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


# --- text that any terminal can show -------------------------------------------------------


def _escape(problem: UnicodeError) -> tuple[str | bytes, int]:
    """A file name's undecodable byte goes out as that byte; any other misfit as ``\\uXXXX``."""
    if not isinstance(problem, UnicodeEncodeError):
        raise problem
    code = ord(problem.object[problem.start])
    if 0xDC80 <= code <= 0xDCFF:  # how Python decoded a byte of a non-UTF-8 file name
        return bytes([code - 0xDC00]), problem.start + 1
    return (f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"), problem.start + 1


codecs.register_error("imgfilter", _escape)


def safe_streams() -> None:
    """Let stdout and stderr print any string (a kernel named with a lone surrogate too)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="imgfilter")
        except (AttributeError, ValueError, OSError):
            pass


# --- warnings: one line each, named by the file they concern --------------------------------


class _Sink:
    """The warnings of one file in work (compared by identity)."""

    def __init__(self, source: str):
        self.source, self.lines = source, []


_LOCAL = threading.local()
_ACTIVE: list[_Sink] = []  # the files being worked on now, oldest first
_ACTIVE_LOCK = threading.Lock()


def warning_text(source: str | None, message: object, category: type[Warning]) -> str:
    """One line: an ImageWarning as it is (it names its file), others after ``source``."""
    lines = str(message).strip().splitlines()
    text = lines[0] if lines else category.__name__
    if issubclass(category, ImageWarning) or source is None:
        return text
    return with_file(source, text)


@contextmanager
def collect_warnings(source: str) -> Iterator[list[str]]:
    """Keep the warnings this thread raises while working on ``source``, as lines to print.

    Only inside :func:`routed_warnings` (which the command line enters once, before any
    worker thread starts):

    >>> with routed_warnings(), collect_warnings("a.png") as lines:
    ...     warnings.warn("something odd")
    >>> lines
    ['a.png: something odd']
    """
    sink = _Sink(source)
    previous = getattr(_LOCAL, "sink", None)
    _LOCAL.sink = sink
    with _ACTIVE_LOCK:
        _ACTIVE.append(sink)
    try:
        yield sink.lines
    finally:
        _LOCAL.sink = previous
        with _ACTIVE_LOCK:
            _ACTIVE.remove(sink)


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    sink = getattr(_LOCAL, "sink", None)
    if sink is None:  # a helper thread (the engine's bands): the oldest file in work
        with _ACTIVE_LOCK:
            sink = _ACTIVE[0] if _ACTIVE else None
    if sink is None:
        warning(warning_text(None, message, category))
        return
    text = warning_text(sink.source, message, category)
    if text not in sink.lines:
        sink.lines.append(text)


@contextmanager
def routed_warnings() -> Iterator[None]:
    """Every warning becomes one line; never a source path or a line of code.

    Worker threads share Python's warning state, so one hook serves them all and sends
    each warning to the file its thread is working on (see :func:`collect_warnings`).
    """
    if warnings.showwarning is _show:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show
        yield
