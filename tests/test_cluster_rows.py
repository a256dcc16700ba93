"""One huge file with ``--scheduler ADDRESS``: its bands computed by the workers of a real
LocalCluster (two worker processes), written by this process, equal to the local run."""

import numpy as np
import pytest
import tifffile

import imgfilter as imf
from imgfilter.io import _tiff_rows

distributed = pytest.importorskip("distributed")

CHAINS = [
    "gaussian sigma=2",
    "gaussian sigma=1.4 | sobel | rescale mode=minmax",
    "convolve kernel=sobel-x stride=2 padding=1 | relu",
]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
    ) as local:
        yield local


def tile_seconds(address: str) -> float:
    """Seconds the workers have spent computing ``imgfilter-tile`` tasks (a chain's chunk)
    since the cluster started: it grows only when a run sends tiles to them."""

    def seconds(dask_scheduler) -> float:
        return sum(
            prefix.all_durations.get("compute", 0.0)
            for name, prefix in dask_scheduler.task_prefixes.items()
            if "imgfilter-tile" in name
        )

    with distributed.Client(address, timeout="5s") as client:
        return client.run_on_scheduler(seconds)


@pytest.mark.parametrize("chain", CHAINS)
def test_a_huge_tiff_on_a_cluster_equals_the_local_run(cli, tmp_path, monkeypatch, cluster, chain):
    values = np.random.default_rng(11).integers(0, 256, (300, 70, 3)).astype(np.uint8)
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, values, photometric="rgb", tile=(32, 32), compression="zlib")
    monkeypatch.setattr(_tiff_rows, "STREAM_MIN_PIXELS", 0)
    monkeypatch.setattr("imgfilter.cli._cluster_rows.CHUNK_BYTES", 70 * 3 * 4 * 64)  # 5 bands
    local, remote = tmp_path / "local.tif", tmp_path / "remote.tif"
    assert cli("run", chain, source, "-o", local).exit_code == 0
    before = tile_seconds(cluster.scheduler_address)
    result = cli("run", chain, source, "-o", remote, "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(
        imf.io.load(remote, integer=True), imf.io.load(local, integer=True)
    )
    assert tile_seconds(cluster.scheduler_address) > before  # the workers ran this chain


def test_a_huge_npy_on_a_cluster_equals_the_local_run(cli, tmp_path, monkeypatch, cluster):
    values = (np.random.default_rng(12).random((260, 50)) * 255).astype(np.float32)
    np.save(tmp_path / "in.npy", values)
    monkeypatch.setattr("imgfilter.cli._cluster_rows.CHUNK_BYTES", 50 * 4 * 64)
    chain = "box size=5 | rescale mode=minmax"
    local, remote = tmp_path / "local.npy", tmp_path / "remote.npy"
    assert cli("run", chain, tmp_path / "in.npy", "-o", local).exit_code == 0
    address = cluster.scheduler_address
    before = tile_seconds(address)
    result = cli("run", chain, tmp_path / "in.npy", "-o", remote, "--scheduler", address)
    assert result.exit_code == 0, result.stderr
    assert tile_seconds(address) > before
    np.testing.assert_allclose(np.load(remote), np.load(local), rtol=1e-6, atol=1e-4)
    expected = imf.Pipeline.parse(chain).run(values)
    np.testing.assert_allclose(np.load(remote), expected, rtol=1e-6, atol=1e-4)
