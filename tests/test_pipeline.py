"""Pipelines: parsing text and JSON, errors that point at the step, running, explaining."""

import json
import pickle

import numpy as np
import pytest

from imgfilter import engine
from imgfilter.image import rescale
from imgfilter.ops import filters
from imgfilter.pipeline import Pipeline, PipelineError

SEED_STEP = np.zeros((6, 6), np.float32)
SEED_STEP[3:] = 255


# --- parsing -------------------------------------------------------------------------


def test_parse_text_into_validated_steps():
    pipe = Pipeline.parse("gaussian sigma=1.4 | sobel | rescale mode=minmax")
    assert [s.op.name for s in pipe] == ["gaussian", "sobel", "rescale"]
    assert pipe.steps[0].params == {"sigma": 1.4, "size": None, "border": "reflect"}
    assert pipe.steps[2].params["mode"] == "minmax"
    assert str(pipe) == "gaussian sigma=1.4 | sobel | rescale mode=minmax"


def test_pipes_need_no_spaces_and_quotes_protect_values(tmp_path):
    path = tmp_path / "my kernels" / "a|b.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"matrix": [[0, 1, 0]]}))
    pipe = Pipeline.parse(f"convolve kernel='{path}'|relu")
    assert pipe.steps[0].params["kernel"].source == str(path)
    assert pipe.steps[1].op.name == "relu"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gaussian | | sobel", r"step 2 is empty"),
        ("gaussian ||sobel", r"step 2 is empty"),
        ("gaussian |", r"step 2 is empty"),
        ("| gaussian", r"step 1 is empty"),
        ("", r"step 1 is empty: the pipeline has no steps"),
        ("gaussian sigma=", r"step 1 'gaussian sigma=': sigma= has no value"),
        ("gaussian =2", r"step 1 'gaussian =2': parameter name missing in '=2'"),
        ("gaussian 2", r"step 1 'gaussian 2': expected key=value, got '2'"),
        ("gaussian sigma='1", r"unbalanced quotes"),
        ('gaussian sigma="1 | sobel', r"unbalanced quotes"),
        ("gaussian | sobl", r"step 2 'sobl': unknown operation 'sobl' \(did you mean 'sobel'\?\)"),
        ("gaussian sigma=1 | sobel dir=x", r"step 2 'sobel dir=x': sobel has no parameter 'dir'"),
        (
            "box size=3 | gaussian sigma=-2",
            r"step 2 'gaussian sigma=-2': sigma must be > 0, got -2.0",
        ),
        ("gaussian sigma=1 sigma=2", r"step 1 .*: sigma is given twice"),
        ("sigma=2", r"step 1 'sigma=2': a step starts with an operation name"),
        ("convolve kernel=nope", r"step 1 'convolve kernel=nope': unknown kernel 'nope'"),
    ],
)
def test_malformed_text_points_at_the_step(text, message):
    with pytest.raises(PipelineError, match=message):
        Pipeline.parse(text)


def test_json_file_with_steps(tmp_path):
    path = tmp_path / "edges.json"
    path.write_text(
        json.dumps(
            {
                "steps": [
                    {"op": "gaussian", "sigma": 1.4},
                    {"op": "convolve", "kernel": "sobel-x", "stride": [2, 1], "flip": True},
                    {"op": "rescale", "mode": "abs"},
                ]
            }
        )
    )
    pipe = Pipeline.parse(str(path))
    assert pipe.steps[1].params["stride"] == (2, 1)
    assert pipe.steps[1].params["flip"] is True
    assert pipe.output_mapping == "abs"
    assert len(Pipeline.parse(path)) == 3


def test_json_bare_list_and_python_list():
    steps = [{"op": "box", "size": 5}, {"op": "relu"}]
    assert [s.op.name for s in Pipeline.parse(steps)] == ["box", "relu"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"steps": {"op": "gaussian"}}', r'"steps" must be a list of steps'),
        ('{"steps": "gaussian | sobel"}', r'"steps" must be a list of steps'),
        ('"gaussian"', r'"steps" must be a list of steps'),
        ('{"stepz": []}', r"unknown key 'stepz'"),
        ('{"steps": []}', r"the list of steps is empty"),
        ('{"steps": [{"sigma": 2}]}', r'step 1 must be an object with an "op" name'),
        ('{"steps": [["gaussian"]]}', r'step 1 must be an object with an "op" name'),
        (
            '{"steps": [{"op": "gaussian", "sigma": -1}]}',
            r"step 1 'gaussian sigma=-1': sigma must be > 0",
        ),
        (
            '{"steps": [{"op": "box"}, {"op": "gaussian", "sigma": "x"}]}',
            r"step 2 .*sigma must be a number",
        ),
        ('{"steps": [', r"invalid JSON at line 1, column 12"),
    ],
)
def test_malformed_json_names_the_file_and_step(tmp_path, content, message):
    path = tmp_path / "pipe.json"
    path.write_text(content)
    with pytest.raises(PipelineError, match=message) as caught:
        Pipeline.parse(str(path))
    assert str(caught.value).startswith(str(path))


def test_missing_json_file(tmp_path):
    with pytest.raises(PipelineError, match=r"missing\.json: no such file$"):
        Pipeline.parse(str(tmp_path / "missing.json"))


def test_json_folder_is_refused(tmp_path):
    folder = tmp_path / "steps.json"
    folder.mkdir()
    with pytest.raises(PipelineError, match="is a directory"):
        Pipeline.parse(str(folder))


def test_pipeline_pickles_for_process_pools():
    pipe = Pipeline.parse("gaussian sigma=2 | convolve kernel=sobel-x stride=2 | rescale")
    again = pickle.loads(pickle.dumps(pipe))
    assert str(again) == str(pipe)
    assert [s.params for s in again] == [s.params for s in pipe]


# --- running -------------------------------------------------------------------------


def test_seed_example_4_through_a_pipeline():
    pipe = Pipeline.parse("convolve kernel=sobel-y padding=valid")
    np.testing.assert_array_equal(pipe.run(SEED_STEP)[:, 0], [0, -1020, -1020, 0])
    pipe = Pipeline.parse("convolve kernel=sobel-y padding=valid | rescale mode=minmax")
    np.testing.assert_array_equal(pipe.run(SEED_STEP), [[255] * 4, [0] * 4, [0] * 4, [255] * 4])


def test_values_stay_float32_between_steps(rng):
    """No 8-bit round trip: negative and fractional values survive into the next step."""
    image = rng.uniform(0, 255, (12, 13)).astype(np.float32)
    result = Pipeline.parse("gaussian sigma=1.5 | convolve kernel=sobel-x | relu").run(image)
    expected = filters.relu(engine.convolve(filters.gaussian(image, 1.5), "sobel-x"))
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)
    assert not np.array_equal(result, np.round(result))


def test_seeds_cnn_chain_convolve_relu_pool():
    from imgfilter.ops import pool

    image = np.arange(36, dtype=np.float32).reshape(6, 6)
    got = Pipeline.parse("convolve kernel=sobel-x padding=valid | relu | pool size=2").run(image)
    feature = np.maximum(engine.convolve(image, "sobel-x", padding="valid"), 0)
    np.testing.assert_array_equal(got, pool.pool(feature, 2))


def test_step_failure_names_the_step():
    with pytest.raises(
        ValueError,
        match=r"step 2 'convolve kernel=box:size=9 padding=valid': "
        r"kernel 9×9 is larger than the padded image 4×4",
    ):
        Pipeline.parse("relu | convolve kernel=box:size=9 padding=valid").run(np.ones((4, 4)))


def test_rgba_alpha_is_set_aside_and_follows_the_stride(rng):
    image = rng.uniform(0, 255, (11, 14, 4)).astype(np.float32)
    got = Pipeline.parse("convolve kernel=box padding=valid stride=2").run(image, alpha="follow")
    colour = engine.convolve(image[..., :3], "box", padding="valid", stride=2)
    assert got.shape == colour.shape[:2] + (4,)
    np.testing.assert_array_equal(got[..., :3], colour)
    np.testing.assert_array_equal(got[..., 3], image[1:-1:2, 1:-1:2, 3])


def test_gray_alpha_stays_two_channels_through_grayscale_and_blur(rng):
    image = rng.uniform(0, 255, (8, 9, 2)).astype(np.float32)
    got = Pipeline.parse("grayscale | gaussian sigma=1").run(image, alpha="follow")
    assert got.shape == (8, 9, 2)
    np.testing.assert_array_equal(got[..., 1], image[..., 1])
    np.testing.assert_array_equal(got[..., 0], filters.gaussian(image[..., 0], 1.0))


def test_rgba_to_gray_keeps_alpha(rng):
    image = rng.uniform(0, 255, (5, 6, 4)).astype(np.float32)
    got = Pipeline.parse("grayscale").run(image)
    assert got.shape == (5, 6, 2)
    np.testing.assert_array_equal(got[..., 0], filters.grayscale(image[..., :3]))


def test_gray_in_gray_out(rng):
    image = rng.uniform(0, 255, (7, 7)).astype(np.float32)
    assert Pipeline.parse("sobel | rescale").run(image).shape == (7, 7)


# --- mapping and explain ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("gaussian", "clip"),
        ("sobel direction=x", "abs"),
        ("sobel direction=x | grayscale", "abs"),
        ("laplacian | rescale mode=minmax", "minmax"),
        ("rescale mode=minmax | laplacian", "abs"),
        ("rescale mode=abs | grayscale", "abs"),
        ("convolve kernel=sobel-x | relu", "clip"),
    ],
)
def test_output_mapping_is_the_last_that_names_one(text, mapping):
    assert Pipeline.parse(text).output_mapping == mapping


def test_explain_fills_in_the_formula_and_strategy():
    text = Pipeline.parse(
        "gaussian sigma=1 | convolve kernel=sobel-x padding=1 stride=2 dilation=2 | relu"
    ).explain((20, 30, 3))
    lines = text.splitlines()
    assert lines[0] == "input: 20×30×3 (H×W×C, 3 channels)"
    assert "step 1 'gaussian sigma=1': 20×30×3 -> 20×30×3" in text
    assert "strategy: separable" in text
    assert (
        "step 2 'convolve kernel=sobel-x padding=1 stride=2 dilation=2': 20×30×3 -> 9×14×3" in text
    )
    assert "H: floor((20 + 1 + 1 - (2*(3-1)+1)) / 2) + 1 = floor(17 / 2) + 1 = 9" in text
    assert "W: floor((30 + 1 + 1 - (2*(3-1)+1)) / 2) + 1 = floor(27 / 2) + 1 = 14" in text
    assert "step 3 'relu': 9×14×3 -> 9×14×3" in text
    assert "pixel-wise" in text
    assert lines[-1] == "output mapping: clip"


def test_explain_sizes_agree_with_running(rng):
    pipe = Pipeline.parse("convolve kernel=box:size=4 padding=valid stride=3 | grayscale")
    image = rng.uniform(0, 255, (17, 19, 3)).astype(np.float32)
    assert "17×19×3 -> 5×6×3" in pipe.explain(image.shape)
    assert pipe.run(image).shape == (5, 6)


def test_explain_notes_alpha_and_reports_a_too_large_kernel():
    assert "+ alpha" in Pipeline.parse("relu").explain((4, 4, 4))
    with pytest.raises(ValueError, match=r"step 1 .*larger than the padded image"):
        Pipeline.parse("convolve kernel=box:size=5 padding=valid").explain((3, 3))


def test_rescale_step_output_is_already_in_range(rng):
    image = rng.uniform(-500, 500, (6, 6)).astype(np.float32)
    got = Pipeline.parse("rescale mode=minmax").run(image)
    np.testing.assert_array_equal(got, rescale(image, "minmax"))


def test_a_step_ending_in_json_is_text_not_a_path(samples_dir):
    kernel = samples_dir / "kernels" / "relief.json"
    pipe = Pipeline.parse(f"convolve kernel={kernel}")
    assert pipe.steps[0].params["kernel"].source == str(kernel)
