"""Tasks to files on worker threads: in-order reports, per-file warnings, signals, a summary.

One Ctrl-C (SIGINT) or SIGTERM stops a batch within about one file per worker: the
files not started are cancelled, the running ones stop before they write, no temporary
file stays, and the count of files written is printed; the exit code is 128 + the
signal (130, 143). A second signal abandons the running files at once.

>>> exit_code(KeyboardInterrupt())
130
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from imgfilter import formats
from imgfilter.cli._report import DEBUG, collect_warnings, error, print_traceback, warning
from imgfilter.cli._tasks import STDIO, Task, target_format

PROGRAM = {"on": False}  # running as the imgfilter program (not called by a test or a script)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread as Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def exit_code(interrupt: BaseException) -> int:
    """128 + the signal number, as shells report a process a signal ended."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Interrupted` (unless ignored)."""
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) is signal.SIG_DFL:
                installed[number] = signal.signal(number, _raise_interrupted)
    try:
        yield
    finally:
        for number, previous in installed.items():
            signal.signal(number, previous)


def discard_temporaries(stop: bool = False) -> None:
    """Remove the named temporary files of unfinished writes (if anything was written)."""
    writer = sys.modules.get("imgfilter.io._write")
    if writer is not None:
        writer.discard_temporaries(stop=stop)


@dataclass
class Outcome:
    """What became of one task: written, failed (``problem``), or never done."""

    task: Task
    written: bool = False
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Job:
    """Everything a worker thread needs to turn one input into one output."""

    pipeline: Any
    rescale: str | None
    fmt: str | None
    quality: int | None
    depth: int | str
    stdin: bytes | None
    stop: threading.Event = field(default_factory=threading.Event)
    alpha: str = "premultiply"
    strip: bool = False  # drop profile, EXIF and resolution
    maps: str = "sheet"  # how feature maps go into an image format
    names: list[str] | None = None  # the kernels of the bank whose maps the result holds
    cluster: Any = None  # a Dask client computing a huge file's bands, in this process

    def __getstate__(self) -> dict:
        # A job travels to Dask's worker processes without its stop flag (a lock).
        return {k: v for k, v in self.__dict__.items() if k not in ("stop", "cluster")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, stop=threading.Event())

    def __call__(self, task: Task) -> Outcome:
        """Process one file; the outcome holds its one-line problem and its warnings."""
        outcome = Outcome(task)
        if self.stop.is_set():
            return outcome
        name = "<stdin>" if task.source == STDIO else str(task.source)
        with collect_warnings(name) as lines:
            try:
                outcome.written = self._make(task)
            except BrokenPipeError:
                if task.target == STDIO:
                    raise  # the reader of stdout left: the command ends quietly
                outcome.problem = f"{name}: cannot write {task.target}: broken pipe"
            except Exception as problem:  # noqa: BLE001 - reported per file, the batch goes on
                outcome.problem = _problem_text(name, problem)
        outcome.warnings = lines
        return outcome

    def _make(self, task: Task) -> bool:
        from imgfilter import io
        from imgfilter.cli import _rows
        from imgfilter.io import _read

        fmt = target_format(task, self.fmt)
        # Feature maps are each mapped on their own with the step's mapping; an image
        # that a final rescale mapped already is not mapped again.
        natural = self.pipeline.output_mapping if self.names else self.pipeline.save_mapping
        mapping = formats.mapping_for(fmt, self.rescale, natural)
        job = {"depth": self.depth, "strip": self.strip, "cluster": self.cluster}
        rows = _rows.handles(self.pipeline, task.source, task.target, fmt, mapping)
        if rows and _rows.run(self.pipeline, task.source, task.target, fmt, mapping, **job):
            return True
        if task.source == STDIO:
            image, meta = io.load_bytes(self.stdin or b"", metadata=True, integer=True)
        else:
            image, meta = _read.load_rows(task.source)
        if self.stop.is_set():
            return False
        depth = _rows.integer_strips(self.pipeline, image, fmt, mapping, self.depth, meta)
        if depth is not None:
            result = _rows.to_integer(self.pipeline, image, mapping, depth, fmt)
            mapping = "clip"
        else:
            if image.dtype != "uint8":  # 8-bit pixels go in as they are (no float32 copy)
                image = io.as_float(image)
            result = self.pipeline.run(image, alpha=self.alpha)
        had_alpha = image.ndim == 3 and image.shape[2] in (2, 4)
        del image  # the input's memory is free before the encoder takes its own
        if self.stop.is_set():
            return False
        meta = meta.stripped() if self.strip else meta
        options = {"depth": self.depth, "quality": self.quality, "metadata": meta}
        maps = self._feature_maps(result, had_alpha)
        if maps is not None:
            from imgfilter.io import _maps

            if task.target == STDIO:
                data = _maps.encode_maps(maps, fmt, self.names, mapping, name="<stdout>", **options)
                _write_stdout(data)
            else:
                _maps.save_maps(
                    maps, task.target, self.names, mapping, layout=self.maps, format=fmt, **options
                )
        elif task.target == STDIO:
            _write_stdout(io.encode(result, fmt, mapping, name="<stdout>", **options))
        else:
            io.save(result, task.target, mapping, format=fmt, **options)
        return True

    def _feature_maps(self, result, had_alpha: bool):
        """The (H, W, K) maps of the bank in ``result``, without alpha, or None."""
        count = len(self.names or ())
        if not count or result.ndim != 3:
            return None
        if result.shape[2] == count + 1 and count in (1, 3) and had_alpha:
            return result[..., :count]  # maps carry no alpha
        return result if result.shape[2] == count else None


def _write_stdout(data: bytes) -> None:
    """All of ``data`` to stdout (an unbuffered stdout may take several writes)."""
    sys.stdout.flush()
    out, view = sys.stdout.buffer, memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]
    out.flush()


def _problem_text(name: str, problem: Exception) -> str:
    if DEBUG["on"]:
        print_traceback(problem)
    message = str(problem)
    if type(problem).__name__ == "ImageFileError":
        return message
    if isinstance(problem, MemoryError):
        message = "not enough memory for this image"
    elif not isinstance(problem, (ValueError, TypeError, OSError)):
        message = f"{type(problem).__name__}: {message}"
    return f"{name}: {message}"


@dataclass
class _Tally:
    total: int
    written: int = 0
    failed: int = 0
    start: float = field(default_factory=time.monotonic)

    def add(self, outcome: Outcome) -> None:
        for line in outcome.warnings:
            warning(line)
        if outcome.problem is not None:
            self.failed += 1
            error(outcome.problem)
        self.written += outcome.written

    def line(self, interrupted: bool = False) -> str:
        seconds = f"{time.monotonic() - self.start:.1f} s"
        if interrupted:
            return (
                f"imgfilter: interrupted: {self.written} of {self.total} files written,"
                f" {self.failed} failed, {seconds}"
            )
        files = "file" if self.written == 1 else "files"
        return f"imgfilter: {self.written} {files} written, {self.failed} failed, {seconds}"


def run_tasks(
    job: Job, tasks: Sequence[Task], jobs: int, *, quiet: bool, batch: bool, pool=None
) -> int:
    """Run every task (on ``jobs`` threads, or on ``pool``), report each in order; the
    exit code. ``pool`` is any ``concurrent.futures``-like executor (Dask's)."""
    if PROGRAM["on"]:
        keep_freed_memory()
    tally = _Tally(len(tasks))
    futures: list[Future] = []
    done, before = 0, None
    if pool is None and jobs > 1:
        pool = ThreadPoolExecutor(jobs, thread_name_prefix="imgfilter-file")
    show_bar = batch and not quiet and _is_terminal(sys.stderr)
    try:
        with click.progressbar(
            length=len(tasks), label="imgfilter", file=sys.stderr, hidden=not show_bar
        ) as bar:
            if pool is None:
                for task in tasks:
                    before = _identity(task.target)
                    tally.add(job(task))
                    done += 1
                    bar.update(1)
            else:
                futures = [pool.submit(job, task) for task in tasks]
                for future in futures:
                    tally.add(future.result())
                    done += 1
                    bar.update(1)
    except KeyboardInterrupt as interrupt:
        job.stop.set()
        if pool is None and done < len(tasks) and _identity(tasks[done].target) != before:
            tally.written += 1  # the signal came after the file was in place
        with _second_signal_leaves(tally):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            _finish(futures[done:], tally)
            discard_temporaries()
            say_interrupted(interrupt, tally)
        raise click.exceptions.Exit(exit_code(interrupt)) from None
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if batch and not quiet:
        click.echo(tally.line(), err=True)
    return 1 if tally.failed else 0


def _finish(futures: Sequence[Future], tally: _Tally) -> None:
    """Let the running files stop (they do before writing), and count what they wrote."""
    # A future cancelled before it ran is never "done" for wait(): wait for the others.
    running = [future for future in futures if not future.cancel()]
    wait_for(running)
    for future in futures:
        if not future.cancelled() and future.exception() is None:
            tally.add(future.result())


@contextmanager
def _second_signal_leaves(tally: _Tally | None) -> Iterator[None]:
    """While a batch winds down, another SIGINT or SIGTERM leaves at once, cleanly."""

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda signum, frame: _leave(signum, tally))
    try:
        yield
    finally:
        for number, handler in previous.items():
            # The program is about to exit: a late signal must not kill it mid-exit.
            signal.signal(number, signal.SIG_IGN if PROGRAM["on"] else handler)


def _leave(signum: int, tally: _Tally | None) -> None:
    """Exit now with 128 + ``signum``, leaving no temporary file (threads are abandoned)."""
    discard_temporaries(stop=True)
    try:
        say_interrupted(Interrupted(signum), tally)
        sys.stderr.flush()
    except (OSError, RuntimeError, ValueError):
        pass
    os._exit(128 + signum)


def say_interrupted(interrupt: BaseException, tally: _Tally | None = None) -> None:
    """The one line after a signal: what was written, if a batch was running."""
    if not isinstance(interrupt, Interrupted) and _is_terminal(sys.stderr):
        click.echo(err=True)  # past the terminal's ^C
    click.echo("imgfilter: interrupted" if tally is None else tally.line(True), err=True)


@contextmanager
def winding_down() -> Iterator[None]:
    """After a signal outside a batch: clean up; another signal leaves at once."""
    with _second_signal_leaves(None):
        yield


def _identity(path) -> tuple[int, ...] | None:
    """Which file ``path`` is now (inode, time, size), to tell whether a write landed."""
    try:
        info = os.stat(path) if path != STDIO else None
    except OSError:
        return None
    return None if info is None else (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


HEAP_BLOCK_BYTES = 256 << 20
"""Blocks up to this size come from malloc's heap, where freed memory is reused."""
KEPT_FREE_BYTES = 1 << 30
"""Free memory glibc may keep at the top of the heap before it gives any back."""


def keep_freed_memory() -> None:
    """Let glibc's malloc keep freed memory in this process for the next allocation.

    By default it maps blocks from 128 KiB up afresh and gives them back when freed
    (strips' buffers, Pillow's blocks), so each pays its page faults again; on a
    virtual machine whose host takes free pages back, a fresh megabyte costs up to
    2 ms. Measured on one (4096² RGB JPEG, median of 12, interleaved): Gaussian σ=2
    665 → 590 ms, the 3-step pipeline 1101 → 978 ms. The command line only (a
    library must not change its process's allocator); other C libraries: nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, HEAP_BLOCK_BYTES)
    mallopt(m_trim_threshold, KEPT_FREE_BYTES)


def cores() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
