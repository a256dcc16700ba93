"""``--scheduler``: a batch's files, or a huge array's chunks, run on Dask.

``threads`` and ``processes`` start a local Dask cluster; anything else is the address
of a running scheduler (``tcp://host:8786``). Every worker reads and writes its own
files, so the paths must be visible to every worker. Dask is an optional extra: without
it, ``--scheduler`` says how to install it.
"""

from __future__ import annotations

from contextlib import contextmanager

import click

from imgfilter.cli._report import Failure

INSTALL = "pip install 'imgfilter[dask]'"
CONNECT_SECONDS = 3


def client_for(scheduler: str):
    """A ``distributed.Client`` for ``--scheduler`` (threads, processes or an address)."""
    try:
        import distributed
    except ImportError:
        raise click.UsageError(f"--scheduler needs Dask: {INSTALL}") from None
    try:
        if scheduler in ("threads", "processes"):
            return distributed.Client(
                processes=scheduler == "processes", dashboard_address=None, silence_logs=40
            )
        return distributed.Client(scheduler, timeout=f"{CONNECT_SECONDS}s")
    except OSError as error:
        raise Failure(
            f"--scheduler {scheduler}: no answer within {CONNECT_SECONDS} s ({error})"
        ) from None


class Executor:
    """A Dask client seen as the ``concurrent.futures`` executor the batch runner uses."""

    def __init__(self, client):
        self.client = client
        self._executor = client.get_executor(pure=False)

    def submit(self, function, *args):
        return self._executor.submit(function, *args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)


@contextmanager
def executor(scheduler: str):
    """The executor for ``--scheduler``; the local cluster stops when the batch ends."""
    client = client_for(scheduler)
    try:
        yield Executor(client)
    finally:
        client.close()
