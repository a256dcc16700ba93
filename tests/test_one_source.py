"""One fact in one place: a kernel file read once per pipeline, one rank-1 answer everywhere,
one value grammar in options, steps, kernel specs and ``kernels show``."""

import json
import pathlib
import re

import numpy as np
import pytest
from conftest import write_png
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgfilter import engine
from imgfilter.kernels import get_kernel, separable_factors
from imgfilter.pipeline import Pipeline


@pytest.fixture
def reads(monkeypatch):
    """Count the reads of each file through Path.read_bytes (how kernel files are read)."""
    counts = {}
    original = pathlib.Path.read_bytes

    def counting(self):
        counts[str(self)] = counts.get(str(self), 0) + 1
        return original(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", counting)
    return counts


def test_a_kernel_file_is_read_once_for_parse_explain_and_two_runs(tmp_path, reads):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"matrix": [[1, 0, -1], [2, 0, -2], [1, 0, -1]]}))
    pipe = Pipeline.parse(f"convolve kernel={path} | relu | convolve kernel={path} stride=2")
    image = np.random.default_rng(0).uniform(0, 255, (12, 14)).astype(np.float32)
    pipe.explain(image.shape)
    first, second = pipe.run(image), pipe.run(image)
    np.testing.assert_array_equal(first, second)
    assert reads[str(path)] == 2  # once per step that names it, never again


def test_a_batch_reads_its_kernel_file_once(cli, tmp_path, reads, rng):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"matrix": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]}))
    inputs = [write_png(tmp_path / f"in{i}.png", rng.integers(0, 256, (9, 11))) for i in range(6)]
    result = cli("convolve", *inputs, "-o", tmp_path / "out", "--kernel", path, "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert len(list((tmp_path / "out").iterdir())) == 6
    assert reads[str(path)] == 1


def test_a_kernel_file_changed_during_a_batch_does_not_change_the_results(tmp_path, rng):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"matrix": [[1, 2, 1]]}))
    pipe = Pipeline.parse(f"convolve kernel={path}")
    image = rng.uniform(0, 255, (8, 8)).astype(np.float32)
    before = pipe.run(image)
    path.write_text(json.dumps({"matrix": [[5, 5, 5]]}))
    np.testing.assert_array_equal(pipe.run(image), before)


def test_explain_plans_each_step_once(monkeypatch):
    calls = []
    original = engine.plan

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "plan", counting)
    Pipeline.parse("convolve kernel=sobel-x stride=2 | gaussian sigma=1 | relu").explain((20, 20))
    assert calls == [(20, 20), (10, 10)]


# --- one rank-1 answer ----------------------------------------------------------------------


def _show_says(cli, path) -> bool:
    result = cli("kernels", "show", path)
    assert result.exit_code == 0, result.stderr
    line = next(s for s in result.stdout.splitlines() if s.startswith("separable:"))
    return line.startswith("separable: yes")


def _explain_says(cli, image, path) -> str:
    result = cli("convolve", image, "--kernel", path, "--explain")
    assert result.exit_code == 0, result.stderr
    return re.search(r"strategy: (\w+)", result.stdout).group(1)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    side=st.sampled_from([5, 7]),
    seed=st.integers(0, 2**32 - 1),
    decimals=st.integers(6, 12),
    noise=st.sampled_from([0.0, 1e-13, 1e-11, 1e-10, 1e-9, 1e-8, 1e-6]),
)
def test_kernels_show_and_explain_agree_on_near_rank_one_kernels(
    cli, tmp_path_factory, side, seed, decimals, noise
):
    rng = np.random.default_rng(seed)
    folder = tmp_path_factory.mktemp("near")
    matrix = np.outer(rng.normal(size=side), rng.normal(size=side))
    matrix = np.round(matrix + noise * rng.normal(size=matrix.shape), decimals)
    path = folder / "k.json"
    path.write_text(json.dumps({"matrix": matrix.tolist()}))
    image = write_png(folder / "in.png", rng.integers(0, 256, (16, 16)))
    separable = _show_says(cli, path)
    assert separable == (_explain_says(cli, image, path) == "separable")
    assert separable == (separable_factors(matrix) is not None)


def test_sobel_is_shown_in_its_own_numbers(cli):
    result = cli("kernels", "show", "sobel-x")
    assert "separable: yes, column [1, 2, 1] × row [-1, 0, 1]" in result.stdout
    result = cli("kernels", "show", "gaussian3")
    assert "separable: yes, 1/16 × column [1, 2, 1] × row [1, 2, 1]" in result.stdout


# --- one grammar ------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", ["5,3", "5x3"])
def test_a_pair_reads_alike_in_options_steps_specs_and_kernels_show(cli, tmp_path, rng, pair):
    image = write_png(tmp_path / "in.png", rng.integers(0, 256, (16, 20)))
    assert Pipeline.parse(f"box size={pair}").steps[0].params["size"] == (5, 3)
    kernel = Pipeline.parse(f"convolve kernel=box:size={pair}").steps[0].params["kernel"]
    assert kernel == get_kernel("box", size=(5, 3))
    shown = cli("kernels", "show", "box", f"size={pair}")
    assert shown.exit_code == 0, shown.stderr
    assert "matrix (5×3):" in shown.stdout
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert cli("box", image, "-o", a, "--size", pair).exit_code == 0
    assert cli("convolve", image, "-o", b, "--kernel", f"box:size={pair}").exit_code == 0
    np.testing.assert_allclose(np.load(a), np.load(b), rtol=1e-5, atol=1e-4)


def test_kernel_parameters_read_alike_as_one_word_or_several(cli):
    one = cli("kernels", "show", "gaussian", "sigma=2,1,size=9")
    several = cli("kernels", "show", "gaussian", "sigma=2,1", "size=9")
    spec = cli("kernels", "show", "gaussian:sigma=2,1,size=9")
    assert one.exit_code == several.exit_code == spec.exit_code == 0, one.stderr
    assert one.stdout == several.stdout == spec.stdout
    assert "gaussian(sigma=2,1, size=9)" in one.stdout
