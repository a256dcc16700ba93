"""--scheduler ADDRESS when the cluster misbehaves: workers that die, workers on another
imgfilter version. One real LocalCluster (two worker processes, one thread each) serves
the module; each test leaves it as it found it."""

import os
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from conftest import write_png

import imgfilter
from imgfilter import _native

distributed = pytest.importorskip("distributed")

# The worker processes unpickle this module's functions and plugin by value: they need
# not import the test module (nor pytest).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

DOOMED = "z-doomed.png"  # last in the batch: the other files run before it on a worker


class Saboteur(distributed.WorkerPlugin):
    """On each worker (also those the nanny restarts), the file named DOOMED kills its
    worker process while ``marker`` exists; ``once`` removes the marker first, so the
    retry succeeds."""

    name = "saboteur"

    def __init__(self, marker: str, once: bool):
        self.marker, self.once = marker, once

    def setup(self, worker):
        from imgfilter.cli import _run

        original = self.original = _run.Job.__call__
        marker, once = self.marker, self.once

        def call(job, task):
            if task.source.name == DOOMED and os.path.exists(marker):
                if once:
                    os.remove(marker)
                os._exit(1)
            return original(job, task)

        _run.Job.__call__ = call

    def teardown(self, worker):
        from imgfilter.cli import _run

        _run.Job.__call__ = self.original


def _box(cli, folder, out, cluster):
    return cli("box", folder, "-o", out, "--scheduler", cluster.scheduler_address)


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


def _batch(tmp_path, count=5):
    rng = np.random.default_rng(3)
    folder = tmp_path / "in"
    folder.mkdir()
    names = [f"f{i}.png" for i in range(count - 1)] + [DOOMED]
    for name in names:
        write_png(folder / name, rng.integers(0, 256, (12, 10)))
    return folder, names


def test_the_files_of_a_worker_that_died_are_run_again(cli, tmp_path, cluster):
    cluster, client = cluster
    folder, names = _batch(tmp_path)
    marker = tmp_path / "kill-once"
    marker.touch()
    client.register_plugin(Saboteur(str(marker), once=True))
    try:
        start = time.monotonic()
        result = _box(cli, folder, tmp_path / "out", cluster)
        assert time.monotonic() - start < 30
    finally:
        client.unregister_worker_plugin(Saboteur.name)
        client.wait_for_workers(2, timeout=20)
    assert not marker.exists()  # a worker did die on the doomed file
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)


def test_a_file_that_kills_every_worker_is_reported_and_the_rest_written(cli, tmp_path, cluster):
    cluster, client = cluster
    folder, names = _batch(tmp_path)
    marker = tmp_path / "kill-always"
    marker.touch()
    client.register_plugin(Saboteur(str(marker), once=False))
    try:
        start = time.monotonic()
        result = _box(cli, folder, tmp_path / "out", cluster)
        assert time.monotonic() - start < 60
    finally:
        client.unregister_worker_plugin(Saboteur.name)
        client.wait_for_workers(2, timeout=20)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert lines == [
        f"imgfilter: error: {folder / DOOMED}: not written: the Dask worker running it died,"
        + lines[0].split("died,")[1]
    ]
    assert "4 times (the last one tcp://" in lines[0]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(set(names) - {DOOMED})


def _set_version(version):
    import imgfilter

    imgfilter.__version__ = version


def _set_pure(value):
    os.environ["IMGFILTER_PURE"] = value


def test_a_worker_on_another_version_is_named_and_nothing_is_sent(cli, tmp_path, cluster):
    cluster, client = cluster
    folder, _ = _batch(tmp_path)
    first, second = sorted(client.scheduler_info()["workers"])
    client.run(_set_version, "0.0.9", workers=[first])
    try:
        result = _box(cli, folder, tmp_path / "out", cluster)
    finally:
        client.run(_set_version, imgfilter.__version__, workers=[first])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"imgfilter: error: --scheduler {cluster.scheduler_address}: every worker must run"
        f" imgfilter {imgfilter.__version__} as here; {first} runs 0.0.9"
    ]
    assert not list((tmp_path / "out").iterdir())


def test_a_worker_on_another_engine_is_named_in_a_warning(cli, tmp_path, cluster):
    cluster, client = cluster
    folder, names = _batch(tmp_path)
    first, second = sorted(client.scheduler_info()["workers"])
    was = os.environ.get("IMGFILTER_PURE", "")
    client.run(_set_pure, "" if _native.pure() else "1", workers=[second])
    try:
        result = _box(cli, folder, tmp_path / "out", cluster)
    finally:
        client.run(_set_pure, was, workers=[second])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and f"; {second} runs " in warnings[0], result.stderr
    assert first not in warnings[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)


def test_a_worker_that_joins_on_another_version_reports_each_file_it_gets():
    from imgfilter.cli import _dask, _tasks

    task = _tasks.Task(Path("a.png"), Path("b.png"))
    outcome = _dask.run_checked("0.0.9", lambda _: pytest.fail("must not run"), task)
    assert outcome.problem == (
        f"a.png: not written: this Dask worker runs imgfilter {imgfilter.__version__},"
        " the client 0.0.9"
    )


def test_a_worker_that_cannot_run_imgfilter_is_named():
    from imgfilter.cli import _dask
    from imgfilter.cli._report import Failure

    class Client:  # what distributed.Client.run(..., on_error="return") gives
        def run(self, function, on_error):
            missing = Exception("ModuleNotFoundError('No module named imgfilter')")
            return {"tcp://a:1": function(), "tcp://b:2": missing}

    with pytest.raises(Failure) as failure:
        _dask.check_workers(Client(), "tcp://s:8786")
    assert failure.value.message == (
        f"--scheduler tcp://s:8786: every worker must run imgfilter {imgfilter.__version__}"
        " as here; tcp://b:2 cannot run imgfilter"
        " (Exception: ModuleNotFoundError('No module named imgfilter'))"
    )
