"""Pipelines on Dask arrays equal the in-memory run, for every border, stride and chunking."""

import dask.array as da
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imgfilter.chunked import is_dask_array, run_steps, segment_halo
from imgfilter.pipeline import Pipeline
from imgfilter.tiles import output_shapes

CHAINS = [
    "gaussian sigma=2 border=symmetric",
    "convolve kernel=sobel-x stride=3 padding=2 | pool size=2 | relu",
    "box size=5,3 border=constant | convolve kernel=laplacian dilation=2 padding=valid",
    "convolve kernel=gaussian5 stride=2,3 padding=1,0,2,3 border=edge",
    "unsharp sigma=1.5 amount=2 | sharpen",
    "gaussian sigma=1 border=wrap | sobel",
]


def in_memory(steps, image):
    for step in steps:
        image = step.op.apply(image, step.params)
    return image


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    chain=st.sampled_from(CHAINS),
    shape=st.sampled_from([(23, 17), (40, 31, 3), (9, 50)]),
    chunks=st.tuples(st.integers(3, 20), st.integers(3, 20)),
    seed=st.integers(0, 2**16),
)
def test_dask_runs_equal_the_in_memory_run(chain, shape, chunks, seed):
    steps = Pipeline.parse(chain).steps
    image = np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)
    lazy, _ = run_steps(steps, da.from_array(image, chunks=chunks + (-1,) * (image.ndim - 2)), None)
    assert is_dask_array(lazy)
    np.testing.assert_allclose(lazy.compute(), in_memory(steps, image), rtol=1e-5, atol=1e-3)


def test_stride_shrinks_the_chunks():
    steps = Pipeline.parse("convolve kernel=box stride=2 | pool size=2").steps
    lazy, _ = run_steps(steps, da.zeros((64, 64), chunks=16, dtype=np.float32), None)
    assert lazy.chunks == ((4,) * 4, (4,) * 4)


def test_alpha_is_carried_chunk_by_chunk():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (30, 22, 3)).astype(np.float32)
    alpha = rng.uniform(0, 255, (30, 22)).astype(np.float32)
    steps = Pipeline.parse("convolve kernel=sobel-x stride=2").steps
    colour, plane = image, alpha
    for step in steps:
        colour, plane = step.op.carry(colour, plane, step.params, "follow")
    lazy, lazy_alpha = run_steps(
        steps, da.from_array(image, chunks=(7, 6, 3)), da.from_array(alpha, chunks=7), "follow"
    )
    np.testing.assert_array_equal(lazy.compute(), colour)
    np.testing.assert_array_equal(lazy_alpha.compute(), plane)


def test_numpy_arrays_are_not_dask_arrays():
    assert not is_dask_array(np.zeros((2, 2)))


def test_a_chain_on_a_local_cluster_of_two_processes_equals_the_in_memory_run():
    from distributed import Client, LocalCluster

    steps = Pipeline.parse("gaussian sigma=1.5 | convolve kernel=sobel-x stride=2 | relu").steps
    image = np.random.default_rng(7).uniform(0, 255, (96, 80)).astype(np.float32)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        lazy, _ = run_steps(steps, da.from_array(image, chunks=(25, 30)), None)
        got = client.compute(lazy).result()
    np.testing.assert_allclose(got, in_memory(steps, image), rtol=1e-5, atol=1e-3)


def test_chunks_smaller_than_the_halo_are_merged_and_the_result_is_the_same():
    steps = Pipeline.parse("gaussian sigma=6 | box size=9 | convolve kernel=sobel-x stride=2").steps
    image = np.random.default_rng(5).uniform(0, 255, (90, 70, 3)).astype(np.float32)
    lazy, _ = run_steps(steps, da.from_array(image, chunks=(3, 4, 1)), None)
    halo = segment_halo(steps, output_shapes(steps, image.shape))
    assert halo[0] > 40 and halo[1] > 40  # a 37-tap Gaussian, a 9 box, a 3 Sobel
    assert min(lazy.chunks[0][:-1]) >= halo[0] // 2 and min(lazy.chunks[1][:-1]) >= halo[1] // 2
    assert lazy.npartitions <= 9  # not one tile per 3 x 4 input chunk (630 of them)
    np.testing.assert_allclose(lazy.compute(), in_memory(steps, image), rtol=1e-5, atol=1e-3)


def test_each_input_chunk_is_computed_once_however_many_tiles_read_it():
    made = []

    def source(block_info=None):
        info = block_info[None]
        made.append(info["chunk-location"])
        return np.full(info["chunk-shape"], float(sum(info["chunk-location"])), np.float32)

    chunks = ((16,) * 4, (16,) * 4)
    image = da.map_blocks(source, chunks=chunks, dtype=np.float32, meta=np.empty((0, 0)))
    steps = Pipeline.parse("gaussian sigma=3 | box size=5").steps
    lazy, _ = run_steps(steps, image, None)
    got = lazy.compute(scheduler="sync")
    assert sorted(made) == sorted((i, j) for i in range(4) for j in range(4))
    np.testing.assert_allclose(got, in_memory(steps, image.compute()), rtol=1e-5, atol=1e-3)


def test_an_8_bit_image_with_alpha_equals_the_in_memory_run():
    image = np.random.default_rng(9).integers(0, 256, (41, 37, 4)).astype(np.uint8)
    pipeline = Pipeline.parse("gaussian sigma=1.5 | convolve kernel=sobel-y stride=2 | relu")
    lazy = pipeline.run(da.from_array(image, chunks=(10, 9, 4)))
    np.testing.assert_allclose(lazy.compute(), pipeline.run(image), rtol=1e-5, atol=1e-3)
