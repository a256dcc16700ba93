"""--scheduler: a batch's files sent to Dask workers give the files a local run writes."""

import sys

import numpy as np
from conftest import write_png


def test_a_batch_on_dask_processes_equals_the_local_batch(cli, tmp_path, rng):
    inputs = [write_png(tmp_path / f"in{i}.png", rng.integers(0, 256, (20, 24))) for i in range(4)]
    local = cli("gaussian", *inputs, "-o", tmp_path / "local", "--format", "npy")
    remote = cli(
        "gaussian", *inputs, "-o", tmp_path / "dask", "--format", "npy", "--scheduler", "processes"
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    for i in range(4):
        np.testing.assert_array_equal(
            np.load(tmp_path / "dask" / f"in{i}.npy"), np.load(tmp_path / "local" / f"in{i}.npy")
        )


def test_a_bad_file_on_dask_is_reported_and_the_rest_written(cli, tmp_path, rng):
    good = write_png(tmp_path / "good.png", rng.integers(0, 256, (8, 8)))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    result = cli("box", good, bad, "-o", tmp_path / "out", "--scheduler", "threads")
    assert result.exit_code == 1
    assert f"imgfilter: error: {bad}:" in result.stderr
    assert (tmp_path / "out" / "good.png").exists()


def test_without_dask_the_scheduler_option_says_how_to_install_it(cli, tmp_path, rng, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    a = write_png(tmp_path / "a.png", rng.integers(0, 256, (8, 8)))
    b = write_png(tmp_path / "b.png", rng.integers(0, 256, (8, 8)))
    result = cli("box", a, b, "-o", tmp_path / "o", "--scheduler", "threads")
    assert result.exit_code == 2
    assert "pip install 'imgfilter[dask]'" in result.stderr


def test_a_scheduler_that_does_not_answer_fails_within_seconds(cli, tmp_path, rng):
    import time

    image = write_png(tmp_path / "in.png", rng.integers(0, 256, (8, 8)))
    start = time.monotonic()
    result = cli("box", image, "-o", tmp_path / "o.png", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert "--scheduler tcp://127.0.0.1:9: no answer within 3 s" in result.stderr
    assert time.monotonic() - start < 8
