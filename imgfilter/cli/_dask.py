"""``--scheduler``: a batch's files, or a huge array's chunks, run on Dask.

``threads`` and ``processes`` start a local Dask cluster; anything else is the address
of a running scheduler (``tcp://host:8786``). Every worker reads and writes its own
files, so the paths must be visible to every worker. Dask is an optional extra: without
it, ``--scheduler`` says how to install it.

What can go wrong on a cluster, and what the batch does:

- a scheduler that does not answer: an error within :data:`CONNECT_SECONDS` (exit 1);
- workers running another imgfilter version: checked on every worker when the client
  connects, one error line naming each worker and its version (exit 1, nothing is
  sent); a worker that joins later is checked again by each file it runs (the file is
  reported failed). Workers on another engine (compiled or numpy, see
  :func:`imgfilter._native.engine`) are named in a warning: results may differ there
  in the last float32 bits;
- a worker that dies while it holds files: the scheduler runs those files again on
  other workers (``distributed.scheduler.allowed-failures``, 3 by default); a file
  whose every worker died is reported on its own line (``not written``) and the batch
  goes on (exit 1). No file is ever silently missing.
"""

from __future__ import annotations

import concurrent.futures as cf
from contextlib import contextmanager

import click

from imgfilter import __version__
from imgfilter.cli._report import Failure, warning

INSTALL = "pip install 'imgfilter[dask]'"
CONNECT_SECONDS = 3


def client_for(scheduler: str):
    """A ``distributed.Client`` for ``--scheduler`` (threads, processes or an address),
    its workers checked for the imgfilter version (:func:`check_workers`)."""
    try:
        import distributed
    except ImportError:
        raise click.UsageError(f"--scheduler needs Dask: {INSTALL}") from None
    try:
        if scheduler in ("threads", "processes"):
            client = distributed.Client(
                processes=scheduler == "processes", dashboard_address=None, silence_logs=50
            )
        else:
            client = distributed.Client(scheduler, timeout=f"{CONNECT_SECONDS}s")
    except OSError as error:
        raise Failure(
            f"--scheduler {scheduler}: no answer within {CONNECT_SECONDS} s ({error})"
        ) from None
    try:
        check_workers(client, scheduler)
    except BaseException:
        client.close()
        raise
    return client


def probe() -> tuple[str, str]:
    """This process's imgfilter version and engine line (run on every worker).

    >>> probe()[0] == __import__("imgfilter").__version__
    True
    """
    import imgfilter
    from imgfilter import _native

    return imgfilter.__version__, _native.engine()


def check_workers(client, scheduler: str) -> None:
    """Fail (exit 1) unless every worker runs this imgfilter version; warn about
    workers on another engine. A scheduler with no worker yet gets a warning.

    >>> class OneWorker:  # stands for a distributed.Client
    ...     def run(self, function, on_error):
    ...         return {"tcp://w1:1": ("0.0.1", probe()[1])}
    >>> try:
    ...     check_workers(OneWorker(), "tcp://s:8786")
    ... except Failure as failure:
    ...     print(failure.message.split("; ")[1])
    tcp://w1:1 runs 0.0.1
    """
    found = client.run(probe, on_error="return")
    if not found:
        warning(
            f"--scheduler {scheduler}: no worker yet; the files wait for one"
            " (each file checks its worker's imgfilter version)"
        )
        return
    version, engine = probe()
    wrong, other_engine = [], []
    for address, seen in sorted(found.items()):
        if not isinstance(seen, tuple):  # the probe failed there: no imgfilter at all?
            wrong.append(f"{address} cannot run imgfilter ({_one_line(seen)})")
        elif seen[0] != version:
            wrong.append(f"{address} runs {seen[0]}")
        elif seen[1] != engine:
            other_engine.append(f"{address} runs {seen[1]}")
    if wrong:
        raise Failure(
            f"--scheduler {scheduler}: every worker must run imgfilter {version}"
            f" as here; {', '.join(wrong)}"
        )
    if other_engine:
        warning(
            f"--scheduler {scheduler}: workers on another engine than here ({engine});"
            f" {', '.join(other_engine)}; their results may differ in the last bits"
        )


def run_checked(version: str, function, task):
    """On a worker: ``function(task)`` if the worker runs imgfilter ``version``, else
    the task's outcome with the problem (a worker that joined after the check). The
    file runs on the worker's thread alone: Dask's threads are the parallelism.

    >>> run_checked(__version__, len, "abc")
    3
    >>> run_checked("0.0.1", len, "a.png").problem.split(" imgfilter ")[0]
    'a.png: not written: this Dask worker runs'
    """
    import imgfilter
    from imgfilter import _compute

    if imgfilter.__version__ == version:
        flag = _compute._in_worker  # the file runs on this Dask thread, not on a pool
        before, flag.active = flag.active, True
        try:
            return function(task)
        finally:
            flag.active = before
    from imgfilter.cli._run import Outcome

    return Outcome(
        task,
        problem=f"{_name(task)}: not written: this Dask worker runs imgfilter"
        f" {imgfilter.__version__}, the client {version}",
    )


def lost_problem(name: str, error: BaseException) -> str:
    """The one-line problem of a file Dask lost (its workers died, the scheduler left).

    >>> lost_problem("a.png", RuntimeError("connection closed"))
    'a.png: not written: lost on Dask (RuntimeError: connection closed)'
    """
    if type(error).__name__ == "KilledWorker":
        tries = getattr(error, "allowed_failures", 0) + 1
        last = getattr(getattr(error, "last_worker", None), "address", "?")
        return (
            f"{name}: not written: the Dask worker running it died, {tries} times"
            f" (the last one {last})"
        )
    return f"{name}: not written: lost on Dask ({_one_line(error)})"


class Executor:
    """A Dask client seen as the ``concurrent.futures`` executor the batch runner uses.

    Each future gives the task's :class:`~imgfilter.cli._run.Outcome`, also when Dask
    loses the task (the outcome then holds the problem), so every file is reported."""

    def __init__(self, client):
        self.client = client
        self._executor = client.get_executor(pure=False)

    def submit(self, function, task) -> cf.Future:
        inner = self._executor.submit(run_checked, __version__, function, task)
        return _outcome_future(inner, task)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)


def _outcome_future(inner: cf.Future, task) -> cf.Future:
    """A future of ``inner``'s outcome, or of the problem when ``inner`` failed."""
    outer: cf.Future = cf.Future()

    def cancel_inner(done: cf.Future) -> None:
        if done.cancelled():
            inner.cancel()

    def copy(done: cf.Future) -> None:
        if outer.done():
            return
        if done.cancelled():
            outer.cancel()
            outer.set_running_or_notify_cancel()
            return
        problem = done.exception()
        if problem is None:
            outer.set_result(done.result())
            return
        from imgfilter.cli._run import Outcome

        outer.set_result(Outcome(task, problem=lost_problem(_name(task), problem)))

    outer.add_done_callback(cancel_inner)
    inner.add_done_callback(copy)
    return outer


def _name(task) -> str:
    from imgfilter.cli._tasks import STDIO

    source = getattr(task, "source", task)
    return "<stdin>" if source == STDIO else str(source)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextmanager
def executor(scheduler: str):
    """The executor for ``--scheduler``; the local cluster stops when the batch ends."""
    client = client_for(scheduler)
    try:
        yield Executor(client)
    finally:
        client.close()
